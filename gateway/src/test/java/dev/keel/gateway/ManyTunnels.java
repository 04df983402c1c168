package dev.keel.gateway;

import static dev.keel.gateway.LoopbackTesting.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.packet.InnerPackets;
import dev.keel.gateway.LoopbackPair.Lan;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.IntFunction;

/**
 * N tunnels between a {@link LoopbackPair}'s peer P and the pair, as the scale tests build them
 * ({@link ManyTunnelsFailoverTest}, {@link GatewaySoakTest}): tunnel i is P's connection
 * {@code t<i>}, with the identity peer-i.example and the /32 10.2.x.y of its own on P's side (so
 * the gateway sees N peers: N IKE SAs, one CHILD SA each); P's host sends one packet per tunnel per
 * round, and a host's {@link Arrivals} tells the tunnels apart by the packets' source address.
 */
final class ManyTunnels {

    /** The host behind the pair's virtual wire that P's packets go to: 10.1.0.7. */
    static final byte[] LAN_HOST = {10, 1, 0, 7};

    private ManyTunnels() {
    }

    /** Tunnel {@code i}'s connection name, the same on both sides. */
    static String connection(int i) {
        return "t" + i;
    }

    /** Tunnel {@code i}'s peer identity. */
    static String peerId(int i) {
        return "peer-" + i + ".example";
    }

    /** Tunnel {@code i}'s address on P's side: 10.2.x.y, one per tunnel. */
    static byte[] peerHost(int i) {
        return new byte[] {10, 2, (byte) (i / 250), (byte) (i % 250 + 1)};
    }

    /** Tunnel {@code i}'s traffic selector on P's side: its host's /32. */
    static String peerTs(int i) {
        byte[] h = peerHost(i);
        return "10.2.%d.%d/32".formatted(h[2] & 0xff, h[3] & 0xff);
    }

    /** The connections of {@code n} tunnels, tunnel i's made by {@code one}, one after the other (YAML). */
    static String connections(int n, IntFunction<String> one) {
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < n; i++) {
            all.append(one.apply(i));
        }
        return all.toString();
    }

    /** The tunnel an inner packet came through, from its source (or, {@code fromPeer} false, destination) address; -1 for any other. */
    static int tunnelOf(ByteBuffer packet, boolean fromPeer) {
        int at = fromPeer ? 12 : 16;
        if (packet.remaining() < 20 || packet.get(at) != 10 || packet.get(at + 1) != 2) {
            return -1;
        }
        return (packet.get(at + 2) & 0xff) * 250 + (packet.get(at + 3) & 0xff) - 1;
    }

    /**
     * P initiates its {@code n} tunnels, {@code concurrency} IKE SAs under way at once (below the
     * gateway's cookie threshold per address, 32, so no cookies), and waits until every one is
     * established with its CHILD SA; fails if any failed or did not finish within its bounds.
     */
    static IkeSa[] establish(GatewayNode p, int n, int concurrency, long pollMillis) throws InterruptedException {
        Semaphore underWay = new Semaphore(concurrency);
        List<CompletableFuture<IkeSa>> setups = new ArrayList<>();
        AtomicInteger failed = new AtomicInteger();
        for (int i = 0; i < n; i++) {
            if (!underWay.tryAcquire(60, TimeUnit.SECONDS)) {
                throw new AssertionError("no IKE SA of P's completed in 60 s; " + setups.size() + " started");
            }
            CompletableFuture<IkeSa> f = p.engine().initiate(connection(i), "lan");
            f.whenComplete((sa, e) -> {
                if (e != null) {
                    failed.incrementAndGet();
                }
                underWay.release();
            });
            setups.add(f);
        }
        await(() -> setups.stream().allMatch(CompletableFuture::isDone), Math.max(60_000, 200L * n),
                "P's N IKE SAs done", pollMillis);
        assertThat(failed.get()).as("P's IKE SAs that failed").isZero();
        IkeSa[] tunnels = new IkeSa[n];
        for (int i = 0; i < n; i++) {
            tunnels[i] = setups.get(i).join();
        }
        await(() -> Arrays.stream(tunnels).allMatch(sa -> sa.state() == IkeSaState.ESTABLISHED
                && sa.children().size() == 1), 30_000, "every IKE SA of P's established with its CHILD SA",
                pollMillis);
        return tunnels;
    }

    /**
     * P's host sends one packet per tunnel every {@code roundMillis}, spread evenly over the round's
     * 2 ms turns (a burst of N would overflow the virtual wire's socket buffer), until closed; each
     * send is counted in {@code sent} (per tunnel) when given. A turn the loaded machine runs late
     * delays the rest, and no turns are made up: catching up would send each tunnel's missed packets
     * at once, a burst sized by the load of this JVM, not by the traffic the test means.
     */
    static HostLoop rounds(Lan peer, int n, int roundMillis, AtomicLongArray sent) {
        byte[][] packets = new byte[n][];
        for (int i = 0; i < n; i++) {
            packets[i] = InnerPackets.ipv4(peerHost(i), LAN_HOST, 17, 32, i);
        }
        long turnsPerRound = Math.max(1, roundMillis / 2);
        return HostLoop.paced("rounds", Duration.ofMillis(2), false, tick -> {
            long turn = tick % turnsPerRound;
            for (long i = turn * n / turnsPerRound; i < (turn + 1) * n / turnsPerRound; i++) {
                peer.host().send(ByteBuffer.wrap(packets[(int) i]), peer.wire());
                if (sent != null) {
                    sent.incrementAndGet((int) i);
                }
            }
        });
    }

    /**
     * The pair's host answering every packet of a tunnel with one back to the tunnel's host on P's
     * side (addresses swapped), through the gateway: each round then crosses both directions of
     * every tunnel's CHILD SA.
     */
    static HostLoop echo(Lan lan, int n) {
        byte[][] answers = new byte[n][];
        for (int i = 0; i < n; i++) {
            answers[i] = InnerPackets.ipv4(LAN_HOST, peerHost(i), 17, 32, i);
        }
        return HostLoop.receiving("echo", lan.host(), (packet, at) -> {
            int t = tunnelOf(packet, true);
            if (t >= 0 && t < n) {
                lan.host().send(ByteBuffer.wrap(answers[t]), lan.wire());
            }
        });
    }

    /**
     * A host's arrivals per tunnel: how many, the last, and (when {@code logged}) every arrival's
     * time, bounded, for the first after each mark a caller asks about.
     */
    static final class Arrivals implements AutoCloseable {
        private final AtomicLongArray last;
        private final AtomicLongArray counts;
        private final List<long[]> log; // (tunnel, time) of every arrival, bounded; null when not logged
        private final HostLoop loop;

        /** Arrivals at {@code host} from P's side ({@code fromPeer}) or to it. */
        Arrivals(DatagramChannel host, int n, boolean fromPeer, boolean logged) {
            this.last = new AtomicLongArray(n);
            this.counts = new AtomicLongArray(n);
            this.log = logged ? new ArrayList<>() : null;
            this.loop = HostLoop.receiving("arrivals", host, (packet, at) -> {
                int t = tunnelOf(packet, fromPeer);
                if (t >= 0 && t < last.length()) {
                    last.set(t, at);
                    counts.incrementAndGet(t);
                    if (log != null) {
                        synchronized (log) {
                            if (log.size() < 5_000_000) {
                                log.add(new long[] {t, at});
                            }
                        }
                    }
                }
            });
        }

        /** Tunnels with a packet after {@code since}. */
        int tunnelsSince(long since) {
            int count = 0;
            for (int i = 0; i < last.length(); i++) {
                if (last.get(i) - since > 0) {
                    count++;
                }
            }
            return count;
        }

        /** Packets that came through tunnel {@code i}. */
        long count(int i) {
            return counts.get(i);
        }

        /** Per tunnel, when its first packet after {@code since} arrived (0: none); only when logged. */
        long[] firstTimesSince(long since) {
            long[] first = new long[last.length()];
            synchronized (log) {
                for (long[] e : log) {
                    int t = (int) e[0];
                    if (e[1] - since > 0 && first[t] == 0) {
                        first[t] = e[1];
                    }
                }
            }
            return first;
        }

        @Override
        public void close() throws InterruptedException {
            loop.close();
        }
    }
}
