package dev.keel.gateway;

import dev.keel.core.proposal.EncryptionAlgorithm;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.export.EspSaKeys;
import dev.keel.esp.export.WiresharkKeyWriter;
import dev.keel.esp.forward.Route;
import dev.keel.esp.forward.StaticGateway;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.esp.sa.SelectorPolicy;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSa;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts negotiated CHILD SAs into the in-process data plane (inbound SA by SPI with its selector
 * policy, outbound SA with a route per remote selector to the peer's ESP-in-UDP endpoint) and
 * takes them out again; optionally writes their keys for Wireshark.
 */
final class DataPlaneInstaller implements IkeEvents {

    private static final Logger LOG = LoggerFactory.getLogger(DataPlaneInstaller.class);

    /** Replay window of IKE-negotiated SAs: wide enough for reordering across event loops. */
    static final int REPLAY_WINDOW = 1024;

    private final Vertx vertx;
    private final StaticGateway dataPlane;
    private final WiresharkKeyWriter keys;
    private final InetAddress localAddress;
    private final Map<Integer, OutboundSa> outboundByInboundSpi = new ConcurrentHashMap<>();

    DataPlaneInstaller(Vertx vertx, StaticGateway dataPlane, WiresharkKeyWriter keys, InetAddress localAddress) {
        this.vertx = vertx;
        this.dataPlane = dataPlane;
        this.keys = keys;
        this.localAddress = localAddress;
    }

    @Override
    public void childEstablished(IkeSa sa, ChildSa child) {
        InetSocketAddress peer = sa.remote();
        EspSaSpec in = spec(child, child.inboundSpi(), child.inboundEncryptionKey(), child.inboundIntegrityKey());
        EspSaSpec out = spec(child, child.outboundSpi(), child.outboundEncryptionKey(), child.outboundIntegrityKey());
        OutboundSa outbound = new OutboundSa(out, exhausted -> LOG.warn("{}: outbound SA {} ran out of sequence numbers;"
                + " it needs a rekey", sa, exhausted));
        dataPlane.inboundSas().put(new InboundSa(in, new SelectorPolicy(child.localTs(), child.remoteTs())));
        for (TrafficSelector remote : child.remoteTs()) {
            dataPlane.routes().add(new Route(remote, outbound, peer));
        }
        outboundByInboundSpi.put(child.inboundSpi(), outbound);
        if (keys.exportsEsp()) {
            vertx.executeBlocking(() -> {
                keys.writeEsp(EspSaKeys.of(in, peer.getAddress(), localAddress));
                keys.writeEsp(EspSaKeys.of(out, localAddress, peer.getAddress()));
                return null;
            }, false);
        }
    }

    @Override
    public void ikeEstablished(IkeSa sa) {
        if (!keys.exportsIke()) {
            return;
        }
        IkeSuite suite = sa.suite();
        var k = sa.keys();
        var export = new dev.keel.esp.export.IkeSaKeys(sa.spiI(), sa.spiR(), suite.encryption().transform(),
                k.skEi(), k.skEr(), suite.integrity(), k.skAi(), k.skAr());
        vertx.executeBlocking(() -> keys.writeIke(export), false);
    }

    @Override
    public void childDeleted(IkeSa sa, ChildSa child) {
        OutboundSa outbound = outboundByInboundSpi.remove(child.inboundSpi());
        if (outbound != null) {
            dataPlane.routes().removeIf(r -> r.sa() == outbound);
            outbound.close();
        }
        InboundSa inbound = dataPlane.inboundSas().remove(child.inboundSpi());
        if (inbound != null) {
            inbound.close();
        }
    }

    private static EspSaSpec spec(ChildSa child, int spi, byte[] encryptionKey, byte[] integrityKey) {
        Proposal p = child.proposal();
        EncryptionAlgorithm enc = p.encryptionAlgorithms().getFirst();
        IntegrityTransform integ = enc.isAead() || p.integrityAlgorithms().isEmpty()
                ? IntegrityTransform.NONE : p.integrityAlgorithms().getFirst();
        boolean esn = !p.esns().isEmpty() && p.esns().getFirst() == EsnTransform.ESN;
        try {
            return new EspSaSpec(spi, child.mode(), enc.transform(), encryptionKey, integ, integrityKey, esn,
                    REPLAY_WINDOW, 0, child.encap());
        } finally {
            java.util.Arrays.fill(encryptionKey, (byte) 0);
            java.util.Arrays.fill(integrityKey, (byte) 0);
        }
    }
}
