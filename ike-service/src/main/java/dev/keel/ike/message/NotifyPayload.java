package dev.keel.ike.message;

/**
 * Notify payload (RFC 7296 §3.10): protocol ID (0 or 1 for the IKE SA, 2 AH, 3 ESP), SPI,
 * notify message type and data. The type is kept as an int; {@link #notifyType()} names it.
 */
public record NotifyPayload(int protocolId, byte[] spi, int notifyTypeValue, byte[] data) implements IkePayload {

    /** A notify about the IKE SA (no SPI) with {@code data}. */
    public static NotifyPayload of(NotifyType type, byte[] data) {
        return new NotifyPayload(0, new byte[0], type.value(), data);
    }

    /** A notify about the IKE SA (no SPI) without data. */
    public static NotifyPayload of(NotifyType type) {
        return of(type, new byte[0]);
    }

    /** Parses a Notify body: protocol (1), SPI size (1), type (2), SPI, data. */
    public static NotifyPayload decode(byte[] body) throws PayloadException {
        WireReader r = new WireReader(body);
        int protocol = r.u8("Notify protocol ID");
        int spiSize = r.u8("Notify SPI size");
        int type = r.u16("Notify message type");
        byte[] spi = r.bytes(spiSize, "Notify SPI");
        return new NotifyPayload(protocol, spi, type, r.rest());
    }

    /** The type, or null when Keel does not know it. */
    public NotifyType notifyType() {
        return NotifyType.of(notifyTypeValue);
    }

    /** Whether this is an error notify (type below 16384). */
    public boolean isError() {
        return notifyTypeValue < 16384;
    }

    @Override
    public int type() {
        return PayloadType.NOTIFY.value();
    }

    @Override
    public byte[] encodeBody() {
        return new WireWriter().u8(protocolId).u8(spi.length).u16(notifyTypeValue).bytes(spi).bytes(data)
                .toByteArray();
    }
}
