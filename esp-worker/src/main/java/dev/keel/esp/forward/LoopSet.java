package dev.keel.esp.forward;

import dev.keel.esp.net.LoopDatagramChannel;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.packet.EspInUdp;
import dev.keel.esp.plain.PlaintextPort;
import dev.keel.esp.plain.PlaintextQueue;
import dev.keel.esp.raw.RawEspTransport;
import io.netty.channel.EventLoop;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The per-event-loop half of a gateway node, whatever fills its tables: on every loop one
 * {@link LoopForwarder}, one UDP 4500 channel and one plaintext queue, opened together, attached
 * on their loop, and closed together; plus the counters they share. {@link StaticGateway} and
 * {@link FedGateway} differ only in how their forwarders find SAs.
 */
final class LoopSet {

    final ForwardCounters counters = new ForwardCounters();
    final EspCounters espCounters = new EspCounters();
    private final List<LoopForwarder> forwarders = new ArrayList<>();
    private final List<LoopDatagramChannel> channels = new ArrayList<>();
    private final List<PlaintextQueue> queues = new ArrayList<>();

    /**
     * As {@link #open(Vertx, List, InetSocketAddress, UdpOptions, PlaintextPort, List, Supplier)}, and
     * with {@code raw} (null: none) every forwarder sends raw ESP through it, and its one receiving
     * socket is read on the first loop into that loop's forwarder ({@link RawEspTransport} says why).
     */
    Future<Void> open(Vertx vertx, List<EventLoop> loops, InetSocketAddress udpBind, UdpOptions udp,
            PlaintextPort plaintext, List<PlaintextPort> routed, Supplier<LoopForwarder> newForwarder,
            RawEspTransport raw) {
        if (raw == null) {
            return open(vertx, loops, udpBind, udp, plaintext, routed, newForwarder);
        }
        return open(vertx, loops, udpBind, udp, plaintext, routed, () -> {
            LoopForwarder f = newForwarder.get();
            f.useRawEsp(raw.sender());
            return f;
        }).compose(x -> raw.startReceiving(loops.getFirst(), forwarders().getFirst().outerReceiver));
    }

    /**
     * Gives every forwarder (on its own loop) a sender of the raw AH transport {@code ah}, and reads
     * its one receiving socket on the first loop into that loop's forwarder, as for raw ESP.
     */
    Future<Void> openAh(List<EventLoop> loops, RawEspTransport ah) {
        List<Future<Void>> set = new ArrayList<>();
        for (int i = 0; i < forwarders.size(); i++) {
            LoopForwarder f = forwarders.get(i);
            RawEspTransport.Sender sender = ah.sender();
            Promise<Void> done = Promise.promise();
            loops.get(i).execute(() -> {
                f.useRawAh(sender);
                done.complete();
            });
            set.add(done.future());
        }
        return Future.all(set).compose(x -> ah.startReceiving(loops.getFirst(), forwarders.getFirst().ahReceiver));
    }

    /** As the method below without route-based interfaces. */
    Future<Void> open(Vertx vertx, List<EventLoop> loops, InetSocketAddress udpBind, UdpOptions udp,
            PlaintextPort plaintext, Supplier<LoopForwarder> newForwarder) {
        return open(vertx, loops, udpBind, udp, plaintext, List.of(), newForwarder);
    }

    /**
     * Opens a channel bound to {@code udpBind}, plaintext queue {@code i} and queue {@code i} of
     * every route-based interface in {@code routed} (outlet 1..n, in order) on every loop, each
     * feeding a forwarder from {@code newForwarder}, and attaches them on their loop. Fails when
     * any part fails; what did open is kept for {@link #close()}.
     */
    Future<Void> open(Vertx vertx, List<EventLoop> loops, InetSocketAddress udpBind, UdpOptions udp,
            PlaintextPort plaintext, List<PlaintextPort> routed, Supplier<LoopForwarder> newForwarder) {
        List<Future<?>> opened = new ArrayList<>();
        for (int i = 0; i < loops.size(); i++) {
            EventLoop loop = loops.get(i);
            LoopForwarder fwd = newForwarder.get();
            forwarders.add(fwd);
            Future<LoopDatagramChannel> channel = LoopDatagramChannel.open(vertx, loop, udpBind, udp,
                    fwd.outerReceiver, counters.backpressure);
            Future<PlaintextQueue> plain = plaintext.openQueue(i, loop, fwd.plainReceiver);
            List<Future<PlaintextQueue>> routedQueues = new ArrayList<>();
            for (int k = 0; k < routed.size(); k++) {
                routedQueues.add(routed.get(k).openQueue(i, loop, fwd.routedReceiver(k + 1)));
            }
            List<Future<?>> parts = new ArrayList<>(routedQueues);
            parts.add(channel);
            parts.add(plain);
            // join, not all: wait for every part, so a part that opened is closed if another failed.
            opened.add(Future.join(parts).transform(ar -> {
                synchronized (this) {
                    if (channel.succeeded()) {
                        channels.add(channel.result());
                    }
                    if (plain.succeeded()) {
                        queues.add(plain.result());
                    }
                    routedQueues.stream().filter(Future::succeeded).forEach(q -> queues.add(q.result()));
                }
                if (ar.failed()) {
                    return Future.failedFuture(ar.cause());
                }
                List<PlaintextQueue> routedOpen = routedQueues.stream().map(Future::result).toList();
                Promise<Void> attached = Promise.promise();
                loop.execute(() -> {
                    fwd.attach(channel.result(), plain.result(), routedOpen);
                    attached.complete();
                });
                return attached.future();
            }));
        }
        return Future.join(opened).mapEmpty();
    }

    /** The forwarders, one per loop, in loop order. */
    List<LoopForwarder> forwarders() {
        return forwarders;
    }

    /**
     * Sends an IKE message to {@code peer} from the first loop's UDP 4500 socket behind the
     * non-ESP marker (RFC 3948 §2.2). Copies {@code msg[off, off+len)}; callable from any thread.
     */
    void sendIke(byte[] msg, int off, int len, InetSocketAddress peer) {
        byte[] framed = new byte[EspInUdp.NON_ESP_MARKER_LENGTH + len];
        EspInUdp.writeNonEspMarker(framed, 0);
        System.arraycopy(msg, off, framed, EspInUdp.NON_ESP_MARKER_LENGTH, len);
        LoopForwarder fwd = forwarders.getFirst();
        fwd.udp().eventLoop().execute(() -> {
            LoopDatagramChannel u = fwd.udp();
            if (u.send(framed, 0, framed.length, peer)) {
                u.flush();
            }
        });
    }

    /** Sends one NAT keepalive (RFC 3948 §2.3) to {@code peer} from the first loop's socket; callable from any thread. */
    void sendKeepalive(InetSocketAddress peer) {
        LoopForwarder fwd = forwarders.getFirst();
        fwd.udp().eventLoop().execute(() -> {
            fwd.sendKeepalive(peer, new byte[1]);
            fwd.udp().flush();
        });
    }

    /** Closes every channel and queue that opened. */
    Future<Void> close() {
        List<Future<Void>> closing = new ArrayList<>();
        synchronized (this) {
            for (LoopDatagramChannel c : channels) {
                closing.add(c.close());
            }
            for (PlaintextQueue q : queues) {
                closing.add(q.close());
            }
        }
        return Future.join(closing).mapEmpty();
    }
}
