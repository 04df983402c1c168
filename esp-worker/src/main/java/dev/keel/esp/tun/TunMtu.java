package dev.keel.esp.tun;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.esp.raw.OuterTransport;
import dev.keel.esp.sa.EspSaSpec;
import java.util.Collection;

/** The inner MTU an ESP tunnel leaves on a path: what the TUN device's MTU is set to. */
public final class TunMtu {

    private TunMtu() {
    }

    /**
     * The longest inner packet that {@code sa} carries in one outer packet of at most
     * {@code pathMtu} bytes: outer IPv4 (20) or IPv6 (40) header, UDP (8, RFC 3948) unless the
     * transport is raw ESP, ESP header (8), IV, then payload padded with its 2 trailer bytes to the
     * cipher's alignment (RFC 4303 §2.4), then the ICV.
     */
    public static int innerMtu(int pathMtu, boolean outerIpv6, OuterTransport transport, EspSaSpec sa) {
        EncryptionTransform enc = sa.encryption();
        IntegrityTransform integ = sa.integrity();
        int icv = enc.isAead() ? enc.icvLength() : integ.icvLength();
        int align = Math.max(4, enc.blockSize());
        int room = pathMtu - (outerIpv6 ? 40 : 20) - transport.headerBytes() - 8 - enc.ivLength() - icv;
        return room / align * align - 2;
    }

    /** The smallest {@link #innerMtu} over {@code sas}, or {@code pathMtu - 100} when there are none. */
    public static int innerMtu(int pathMtu, boolean outerIpv6, OuterTransport transport, Collection<EspSaSpec> sas) {
        int m = sas.isEmpty() ? pathMtu - 100 : Integer.MAX_VALUE;
        for (EspSaSpec sa : sas) {
            m = Math.min(m, innerMtu(pathMtu, outerIpv6, transport, sa));
        }
        return m;
    }
}
