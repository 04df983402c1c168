package dev.keel.esp.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The worker's port-500 socket joins an SO_REUSEPORT group as the data plane's 4500 sockets do:
 * two workers (here two Vert.x instances, as two processes would be) bind the same address and
 * port, the kernel spreads peers over both by their address and port and keeps each peer on one,
 * and when one closes its peers reach the other.
 */
@Timeout(60)
class IkePortSocketTest {

    private final List<Vertx> vertxes = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Vertx v : vertxes) {
            v.close().await(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void twoWorkersShareThePortAndEachPeerStaysOnOne() throws Exception {
        InetSocketAddress local = new InetSocketAddress("127.0.0.4", freePort());
        Map<InetSocketAddress, Set<String>> whoGot = new ConcurrentHashMap<>();
        IkePortSocket a = bind("a", local, whoGot);
        IkePortSocket b = bind("b", local, whoGot);
        List<DatagramChannel> peers = new ArrayList<>();
        try {
            for (int i = 0; i < 64; i++) {
                peers.add(DatagramChannel.open().bind(new InetSocketAddress("127.0.0.5", 0)));
            }
            for (int round = 0; round < 3; round++) {
                for (DatagramChannel p : peers) {
                    p.send(ByteBuffer.wrap(new byte[] {1, 2, 3, (byte) round}), local);
                }
            }
            await(() -> whoGot.size() == 64, "every peer heard");
            assertThat(whoGot.values()).as("each peer's datagrams reach one worker").allMatch(s -> s.size() == 1);
            long atA = whoGot.values().stream().filter(s -> s.contains("a")).count();
            assertThat(atA).as("peers spread over both workers (64 peers, %d at a)", atA).isBetween(1L, 63L);

            a.close(); // a worker dies: its socket leaves the group
            Thread.sleep(100);
            whoGot.clear();
            for (DatagramChannel p : peers) {
                p.send(ByteBuffer.wrap(new byte[] {9}), local);
            }
            await(() -> whoGot.size() == 64, "every peer heard after a closed");
            assertThat(whoGot.values()).as("all peers reach the survivor").allMatch(s -> s.equals(Set.of("b")));
        } finally {
            for (DatagramChannel p : peers) {
                p.close();
            }
            b.close();
        }
    }

    private IkePortSocket bind(String name, InetSocketAddress local, Map<InetSocketAddress, Set<String>> whoGot)
            throws Exception {
        Vertx v = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(1));
        vertxes.add(v);
        IkePortSocket s = IkePortSocket.bind(v, local).await(10, TimeUnit.SECONDS);
        s.handTo((buf, off, len, peer) -> whoGot.computeIfAbsent(peer, k -> ConcurrentHashMap.newKeySet()).add(name));
        return s;
    }

    private static int freePort() throws Exception {
        try (DatagramChannel ch = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.4", 0))) {
            return ((InetSocketAddress) ch.getLocalAddress()).getPort();
        }
    }

    private static void await(java.util.function.BooleanSupplier c, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!c.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what + " within 10 s").isLessThan(deadline);
            Thread.sleep(5);
        }
    }
}
