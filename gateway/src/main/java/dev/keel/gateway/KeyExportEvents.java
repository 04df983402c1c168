package dev.keel.gateway;

import dev.keel.core.sa.ReplayWindowSize;
import dev.keel.esp.export.EspSaKeys;
import dev.keel.esp.export.WiresharkKeyWriter;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.export.IkeDecryptionTable;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSa;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Writes the keys of negotiated IKE and CHILD SAs for Wireshark (esp_sa, and ike-service's
 * ikev2_decryption_table) when the node exports keys, through the one {@link WiresharkKeyWriter}.
 * Runs before the SAD installer, which zeroizes the child's keys once they are in its request.
 */
final class KeyExportEvents implements IkeEvents {

    private final Vertx vertx;
    private final WiresharkKeyWriter keys;
    private final InetAddress localAddress;

    KeyExportEvents(Vertx vertx, WiresharkKeyWriter keys, InetAddress localAddress) {
        this.vertx = vertx;
        this.keys = keys;
        this.localAddress = localAddress;
    }

    @Override
    public void childEstablished(IkeSa sa, ChildSa child) {
        if (!keys.exportsEsp()) {
            return;
        }
        InetSocketAddress peer = sa.endpoints().remote();
        EspSaSpec in = spec(child, child.inboundSpi(), child.inboundEncryptionKey(), child.inboundIntegrityKey());
        EspSaSpec out = spec(child, child.outboundSpi(), child.outboundEncryptionKey(), child.outboundIntegrityKey());
        vertx.executeBlocking(() -> {
            try {
                keys.writeEsp(EspSaKeys.of(in, peer.getAddress(), localAddress));
                keys.writeEsp(EspSaKeys.of(out, localAddress, peer.getAddress()));
            } finally {
                in.destroyKeys();
                out.destroyKeys();
            }
            return null;
        }, false);
    }

    @Override
    public void ikeEstablished(IkeSa sa) {
        exportIke(sa);
    }

    /** The IKE SA a rekey made has keys of its own (RFC 7296 §2.18); without them its messages stay opaque. */
    @Override
    public void ikeRekeyed(IkeSa old, IkeSa replacement) {
        exportIke(replacement);
    }

    private void exportIke(IkeSa sa) {
        if (!keys.writes(IkeDecryptionTable.FILE_NAME)) {
            return;
        }
        IkeDecryptionTable.Row row = IkeDecryptionTable.Row.of(sa);
        vertx.executeBlocking(() -> {
            try {
                return keys.append(IkeDecryptionTable.FILE_NAME, () -> IkeDecryptionTable.format(row), row.id());
            } finally {
                row.wipe();
            }
        }, false);
    }

    /** A spec holding copies of the keys (EspSaSpec copies; the child's own arrays go on to the SAD installer). */
    private static EspSaSpec spec(ChildSa child, int spi, byte[] encryptionKey, byte[] integrityKey) {
        IkeSuite suite = child.suite();
        return new EspSaSpec(spi, child.mode(), suite.encryption().transform(), encryptionKey, suite.integrity(),
                integrityKey, child.esn(), ReplayWindowSize.DEFAULT, 0, child.encap());
    }
}
