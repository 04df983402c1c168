package dev.keel.esp.forward;

import dev.keel.esp.acquire.AcquireLimiter;
import dev.keel.esp.feed.SaTables;
import dev.keel.esp.feed.SpdTable;
import dev.keel.esp.net.EventLoops;
import dev.keel.esp.net.IkeHandoff;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.net.UnknownSpiListener;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.plain.PlaintextPort;
import dev.keel.esp.raw.RawEspTransport;
import io.netty.channel.EventLoop;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;

/**
 * A data-plane node driven by fed tables: the SPD from policy-service and the SAs from
 * sad-service ({@code dev.keel.esp.feed}), with acquires for PROTECT policies that have no SA.
 * On every Vert.x event loop a UDP 4500 socket (SO_REUSEPORT), a plaintext queue and a
 * {@link LoopForwarder} that reads the shared tables without locks; optionally raw ESP beside
 * them for SAs negotiated without UDP encapsulation (no NAT, RFC 7296 §2.23). The feeds, which own the
 * tables, are started and closed by the caller.
 */
public final class FedGateway {

    /**
     * How to build a node.
     *
     * @param udpBind   the outer address (port 4500 in production, any port in tests)
     * @param clearPath where BYPASS packets go as UDP datagrams (the outer virtual wire), or null
     *                  to count them as {@link ForwardDrop#NO_CLEAR_PATH}
     * @param unknownSpi told of inbound ESP whose SPI has no SA here
     * @param rawEsp    also send and receive raw ESP (IP protocol 50, {@link RawEspTransport}) on
     *                  {@code udpBind}'s address, for SAs whose peer endpoint has port 0, and AH (IP
     *                  protocol 51, {@link RawEspTransport#openAh}) for AH SAs (needs CAP_NET_RAW)
     */
    public record Config(InetSocketAddress udpBind, UdpOptions udp, IkeHandoff ike, InetSocketAddress clearPath,
            UnknownSpiListener unknownSpi, boolean rawEsp) {
        public Config {
            Objects.requireNonNull(udpBind, "udpBind");
            Objects.requireNonNull(udp, "udp");
            Objects.requireNonNull(ike, "ike");
            Objects.requireNonNull(unknownSpi, "unknownSpi");
        }

        /** Default socket options, IKE discarded, no clear path, unknown SPIs plain drops. */
        public static Config of(InetSocketAddress udpBind) {
            return new Config(udpBind, UdpOptions.DEFAULTS, IkeHandoff.DISCARD, null, UnknownSpiListener.NONE, false);
        }

        public Config withIke(IkeHandoff h) {
            return new Config(udpBind, udp, h, clearPath, unknownSpi, rawEsp);
        }

        public Config withClearPath(InetSocketAddress c) {
            return new Config(udpBind, udp, ike, c, unknownSpi, rawEsp);
        }

        /** Where inbound ESP with an SPI that has no SA here is reported (besides its counted drop). */
        public Config withUnknownSpi(UnknownSpiListener l) {
            return new Config(udpBind, udp, ike, clearPath, l, rawEsp);
        }

        /** With raw ESP sockets beside the UDP ones (SAs whose peer port is 0 go out as IP protocol 50). */
        public Config withRawEsp(boolean on) {
            return new Config(udpBind, udp, ike, clearPath, unknownSpi, on);
        }
    }

    private final Config config;
    private final SaTables sas;
    private final AcquireLimiter acquires;
    private final LoopSet perLoop = new LoopSet();
    private RawEspTransport raw;
    private RawEspTransport rawAh;

    private FedGateway(Config config, SaTables sas, AcquireLimiter acquires) {
        this.config = config;
        this.sas = sas;
        this.acquires = acquires;
    }

    /**
     * Opens one UDP socket and one plaintext queue per event loop of {@code vertx}, and with
     * {@link Config#rawEsp()} one raw ESP socket of the outer address's family, read on the first
     * loop ({@link RawEspTransport} says why).
     */
    public static Future<FedGateway> start(Vertx vertx, Config config, PlaintextPort plaintext, SpdTable spd,
            SaTables sas, AcquireLimiter acquires) {
        return start(vertx, config, plaintext, List.of(), spd, sas, acquires);
    }

    /**
     * As {@link #start(Vertx, Config, PlaintextPort, SpdTable, SaTables, AcquireLimiter)}, with the
     * route-based interfaces {@code routed}: interface {@code i} (from 1) reads into its own SPD
     * ({@link SpdTable#forOutlet}) and writes what SAs of outlet {@code i} deliver
     * ({@link dev.keel.esp.sa.InboundSa#outlet}). The caller names them in the tables first
     * ({@link SpdTable#interfaces}, {@link SaTables#outlets}).
     */
    public static Future<FedGateway> start(Vertx vertx, Config config, PlaintextPort plaintext,
            List<PlaintextPort> routed, SpdTable spd, SaTables sas, AcquireLimiter acquires) {
        FedGateway gw = new FedGateway(config, sas, acquires);
        sas.acquireLimiter(acquires);
        List<EventLoop> loops;
        try {
            loops = EventLoops.of(vertx);
            if (config.rawEsp()) {
                boolean v4 = config.udpBind().getAddress() instanceof Inet4Address;
                gw.raw = RawEspTransport.open(v4, !v4, config.udpBind().getAddress());
                gw.rawAh = RawEspTransport.openAh(v4, !v4, config.udpBind().getAddress());
            }
        } catch (IllegalStateException | IOException e) {
            return Future.failedFuture(e);
        }
        Future<Void> opened = gw.perLoop.open(vertx, loops, config.udpBind(), config.udp(), plaintext, routed,
                () -> new LoopForwarder(spd, sas.outbound(), acquires, config.clearPath(), sas.inbound(), config.ike(),
                        gw.perLoop.counters, gw.perLoop.espCounters, config.udp().maxDatagram(), config.udpBind(),
                        config.unknownSpi()), gw.raw)
                .compose(x -> gw.rawAh == null ? Future.succeededFuture() : gw.perLoop.openAh(loops, gw.rawAh));
        return opened.transform(ar -> ar.failed()
                ? gw.close().transform(x -> Future.<FedGateway>failedFuture(ar.cause()))
                : Future.succeededFuture(gw));
    }

    /**
     * Sends an IKE message to {@code peer} from this node's UDP 4500 socket behind the non-ESP
     * marker (RFC 3948 §2.2); copies the bytes; callable from any thread.
     */
    public void sendIke(byte[] msg, int off, int len, InetSocketAddress peer) {
        perLoop.sendIke(msg, off, len, peer);
    }

    /**
     * Sends a NAT keepalive (RFC 3948 §2.3, one 0xFF byte) to {@code peer} from this node's UDP
     * 4500 socket, for the IKE SA behind a NAT that asks; counted as sent keepalives; callable from any thread.
     */
    public void sendNatKeepalive(InetSocketAddress peer) {
        perLoop.sendKeepalive(peer);
    }

    /** Forwarding counts and drops by reason. */
    public ForwardCounters counters() {
        return perLoop.counters;
    }

    /** ESP outcomes (encapsulation and decapsulation) by kind. */
    public EspCounters espCounters() {
        return perLoop.espCounters;
    }

    /** Per-SA packets, bytes and drops. */
    public List<SaTables.SaCounters> saCounters() {
        return sas.counters();
    }

    /** The acquire rate limiter (fired / suppressed counts). */
    public AcquireLimiter acquires() {
        return acquires;
    }

    public int loops() {
        return perLoop.forwarders().size();
    }

    public Config config() {
        return config;
    }

    /** The raw ESP transport's counters, or null when this node has none ({@link Config#rawEsp()}). */
    public RawEspTransport rawEsp() {
        return raw;
    }

    /** The raw AH transport's counters, or null when this node has none ({@link Config#rawEsp()}). */
    public RawEspTransport rawAh() {
        return rawAh;
    }

    /** Closes every socket and queue; the tables (and their SAs) belong to the feeds. */
    public Future<Void> close() {
        return perLoop.close().andThen(x -> {
            if (raw != null) {
                raw.close(); // after the loops: RawEspTransport#close says why
            }
            if (rawAh != null) {
                rawAh.close();
            }
        });
    }
}
