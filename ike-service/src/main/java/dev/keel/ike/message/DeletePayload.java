package dev.keel.ike.message;

import java.util.ArrayList;
import java.util.List;

/**
 * Delete payload (RFC 7296 §3.11): protocol ID and the SPIs to delete; for the IKE SA (protocol
 * 1) the SPI size is 0 and there are no SPIs, for AH/ESP each SPI is 4 bytes.
 */
public record DeletePayload(int protocolId, int spiSize, List<byte[]> spis) implements IkePayload {

    /** Deletes the IKE SA the message belongs to. */
    public static DeletePayload ikeSa() {
        return new DeletePayload(1, 0, List.of());
    }

    /** Deletes ESP SAs by their 4-byte inbound SPIs. */
    public static DeletePayload esp(List<Integer> spis) {
        return child(3, spis);
    }

    /** Deletes CHILD SAs of protocol {@code protocolId} (ESP 3, AH 2) by their 4-byte inbound SPIs. */
    public static DeletePayload child(int protocolId, List<Integer> spis) {
        List<byte[]> out = new ArrayList<>();
        for (int spi : spis) {
            out.add(new byte[] {(byte) (spi >>> 24), (byte) (spi >>> 16), (byte) (spi >>> 8), (byte) spi});
        }
        return new DeletePayload(protocolId, 4, out);
    }

    /** Parses a Delete body: protocol (1), SPI size (1), number of SPIs (2), SPIs. */
    public static DeletePayload decode(byte[] body) throws PayloadException {
        WireReader r = new WireReader(body);
        int protocol = r.u8("Delete protocol ID");
        int spiSize = r.u8("Delete SPI size");
        int count = r.u16("Delete number of SPIs");
        if (protocol == 1 && (spiSize != 0 || count != 0)) {
            // §3.11: deleting the IKE SA names no SPI, the header's SPIs say which SA.
            throw new PayloadException("Delete of the IKE SA with SPI size " + spiSize + " and " + count + " SPIs");
        }
        if ((protocol == 2 || protocol == 3) && spiSize != 4) {
            throw new PayloadException("Delete of AH/ESP SAs with SPI size " + spiSize + ", not 4");
        }
        if (spiSize == 0 && count != 0) {
            throw new PayloadException("Delete lists " + count + " SPIs of size 0");
        }
        List<byte[]> spis = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            spis.add(r.bytes(spiSize, "Delete SPI " + (i + 1) + " of " + count));
        }
        r.expectEnd("Delete payload");
        return new DeletePayload(protocol, spiSize, List.copyOf(spis));
    }

    @Override
    public int type() {
        return PayloadType.DELETE.value();
    }

    @Override
    public byte[] encodeBody() {
        WireWriter w = new WireWriter().u8(protocolId).u8(spiSize).u16(spis.size());
        for (byte[] spi : spis) {
            if (spi.length != spiSize) {
                throw new IllegalStateException("SPI of " + spi.length + " bytes in a Delete of size " + spiSize);
            }
            w.bytes(spi);
        }
        return w.toByteArray();
    }
}
