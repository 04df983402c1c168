package dev.keel.esp.forward;

import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.net.EventLoops;
import dev.keel.esp.net.IkeHandoff;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.plain.PlaintextPort;
import dev.keel.esp.raw.OuterTransport;
import dev.keel.esp.raw.RawEspTransport;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.esp.sa.SelectorPolicy;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One data-plane node with statically keyed SAs, the way {@code ip xfrm} labs run before IKE:
 * on every Vert.x event loop a UDP 4500 socket (SO_REUSEPORT), a plaintext queue and a
 * {@link LoopForwarder}, sharing a lock-free {@link RouteTable} and {@link InboundSaTable}.
 * NAT keepalives go to every peer from the first loop at {@link Config#keepaliveInterval}.
 * With {@link OuterTransport#RAW_ESP} ESP goes out and comes in as IP protocol 50 through one
 * {@link RawEspTransport} read on the first loop (the UDP sockets stay open; no keepalives).
 */
public final class StaticGateway {

    /**
     * How to build a node.
     *
     * @param udpBind the outer address (port 4500 in production, any port in tests)
     * @param keepaliveInterval NAT keepalive period (RFC 3948 §2.3; 20 s is customary), zero for none
     * @param transport how ESP travels: in UDP (the default) or as raw IP protocol 50
     */
    public record Config(InetSocketAddress udpBind, List<StaticSaPair> sas, ForwardMode mode, UdpOptions udp,
            Duration keepaliveInterval, IkeHandoff ike, OuterTransport transport) {

        /** ESP-in-UDP. */
        public Config(InetSocketAddress udpBind, List<StaticSaPair> sas, ForwardMode mode, UdpOptions udp,
                Duration keepaliveInterval, IkeHandoff ike) {
            this(udpBind, sas, mode, udp, keepaliveInterval, ike, OuterTransport.UDP_ENCAP);
        }

        public Config {
            Objects.requireNonNull(udpBind, "udpBind");
            sas = List.copyOf(sas);
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(udp, "udp");
            Objects.requireNonNull(keepaliveInterval, "keepaliveInterval");
            Objects.requireNonNull(ike, "ike");
            Objects.requireNonNull(transport, "transport");
        }

        /** ESP, default socket options, keepalives every 20 s, IKE discarded. */
        public static Config of(InetSocketAddress udpBind, List<StaticSaPair> sas) {
            return new Config(udpBind, sas, ForwardMode.ESP, UdpOptions.DEFAULTS, Duration.ofSeconds(20), IkeHandoff.DISCARD);
        }

        public Config withMode(ForwardMode m) {
            return new Config(udpBind, sas, m, udp, keepaliveInterval, ike, transport);
        }

        public Config withKeepaliveInterval(Duration d) {
            return new Config(udpBind, sas, mode, udp, d, ike, transport);
        }

        public Config withIke(IkeHandoff h) {
            return new Config(udpBind, sas, mode, udp, keepaliveInterval, h, transport);
        }

        public Config withTransport(OuterTransport t) {
            return new Config(udpBind, sas, mode, udp, keepaliveInterval, ike, t);
        }
    }

    private final Config config;
    private final PlaintextPort plaintext;
    private final RouteTable routes = new RouteTable();
    private final InboundSaTable inbound = new InboundSaTable();
    private final List<OutboundSa> outbound = new ArrayList<>();
    private final LoopSet perLoop = new LoopSet();
    private volatile ScheduledFuture<?> keepalives;
    private RawEspTransport raw;

    private StaticGateway(Config config, PlaintextPort plaintext) {
        this.config = config;
        this.plaintext = plaintext;
    }

    /** Installs the SAs, opens one UDP socket and one plaintext queue per event loop of {@code vertx}. */
    public static Future<StaticGateway> start(Vertx vertx, Config config, PlaintextPort plaintext) {
        StaticGateway gw = new StaticGateway(config, plaintext);
        try {
            gw.install();
        } catch (RuntimeException e) {
            gw.closeSas();
            return Future.failedFuture(e);
        }
        List<EventLoop> loops;
        try {
            loops = EventLoops.of(vertx);
        } catch (IllegalStateException e) {
            gw.closeSas();
            return Future.failedFuture(e);
        }
        if (config.transport() == OuterTransport.RAW_ESP && config.mode() == ForwardMode.ESP) {
            try {
                boolean v4 = gw.peersOf(true);
                boolean v6 = gw.peersOf(false);
                InetAddress local = config.udpBind().getAddress();
                if (!v4 && !v6) { // no SA yet: the family of the outer address
                    v4 = local instanceof Inet4Address;
                    v6 = !v4;
                }
                gw.raw = RawEspTransport.open(v4, v6, local);
            } catch (IOException | RuntimeException e) {
                gw.closeSas();
                return Future.failedFuture(e);
            }
        }
        Future<Void> opened = gw.perLoop.open(vertx, loops, config.udpBind(), config.udp(), plaintext, List.of(),
                () -> new LoopForwarder(config.mode(), gw.routes, gw.inbound, config.ike(), gw.perLoop.counters,
                        gw.perLoop.espCounters, config.udp().maxDatagram(), config.udpBind()), gw.raw);
        return opened.transform(ar -> {
            if (ar.failed()) {
                return gw.close().transform(x -> Future.<StaticGateway>failedFuture(ar.cause()));
            }
            gw.scheduleKeepalives(loops.getFirst());
            return Future.succeededFuture(gw);
        });
    }

    private void install() {
        for (StaticSaPair p : config.sas()) {
            inbound.put(new InboundSa(p.inbound(), new SelectorPolicy(p.local(), p.remote())));
            OutboundSa out = new OutboundSa(p.outbound(), null);
            outbound.add(out);
            for (TrafficSelector remote : p.remote()) {
                routes.add(new Route(remote, out, p.peer()));
            }
        }
    }

    /** Whether some SA's peer is IPv4 ({@code v4}) or IPv6 (not {@code v4}): which raw sockets to open. */
    private boolean peersOf(boolean v4) {
        return config.sas().stream().anyMatch(p -> (p.peer().getAddress() instanceof Inet4Address) == v4);
    }

    private void scheduleKeepalives(EventLoop loop) {
        long ms = config.keepaliveInterval().toMillis();
        if (ms <= 0 || config.mode() != ForwardMode.ESP || raw != null) {
            return;
        }
        LoopForwarder fwd = perLoop.forwarders().getFirst();
        byte[] scratch = new byte[1];
        keepalives = loop.scheduleAtFixedRate(() -> {
            Set<InetSocketAddress> peers = new LinkedHashSet<>();
            for (Route r : routes.all()) {
                if (r.sa() != null && !r.sa().isClosed()) {
                    peers.add(r.peer());
                }
            }
            for (InetSocketAddress peer : peers) {
                fwd.sendKeepalive(peer, scratch);
            }
            if (fwd.udp() != null) {
                fwd.udp().flush();
            }
        }, ms, ms, TimeUnit.MILLISECONDS);
    }

    /**
     * Sends an IKE message to {@code peer} from this node's UDP 4500 socket, behind the non-ESP
     * marker (RFC 3948 §2.2): the way back for the IKE service that receives through
     * {@link IkeHandoff}. Copies {@code msg[off, off+len)}; callable from any thread (the send
     * runs on the first event loop).
     */
    public void sendIke(byte[] msg, int off, int len, InetSocketAddress peer) {
        perLoop.sendIke(msg, off, len, peer);
    }

    /** The routing table (add routes, e.g. PROTECT-without-SA entries, at run time). */
    public RouteTable routes() {
        return routes;
    }

    /** The inbound SAs by SPI. */
    public InboundSaTable inboundSas() {
        return inbound;
    }

    public List<OutboundSa> outboundSas() {
        return List.copyOf(outbound);
    }

    public ForwardCounters counters() {
        return perLoop.counters;
    }

    public EspCounters espCounters() {
        return perLoop.espCounters;
    }

    /** The raw ESP transport's counters, or null when ESP travels in UDP. */
    public RawEspTransport rawEsp() {
        return raw;
    }

    /** Number of event loops (sockets, plaintext queues) this node runs on. */
    public int loops() {
        return perLoop.forwarders().size();
    }

    public Config config() {
        return config;
    }

    public PlaintextPort plaintext() {
        return plaintext;
    }

    /** Stops keepalives, closes every socket and queue, and deletes (zeroizes) the SAs. */
    public Future<Void> close() {
        ScheduledFuture<?> k = keepalives;
        if (k != null) {
            k.cancel(false);
        }
        return perLoop.close().transform(x -> {
            if (raw != null) {
                raw.close();
            }
            closeSas();
            return Future.<Void>succeededFuture();
        });
    }

    private void closeSas() {
        for (InboundSa sa : inbound.all()) {
            inbound.remove(sa.spi());
            sa.close();
        }
        for (OutboundSa sa : outbound) {
            sa.close();
        }
    }
}
