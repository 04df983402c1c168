package dev.keel.ike.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.net.IkeRelayService;
import dev.keel.ike.net.UdpIkeSockets;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * What the IKE relay adds to a round trip (docs/gateway.md): a 300-byte IKE message to the NAT-T
 * port and its answer, echoed by a receiver in place of the engine, once through ike-service's own
 * UDP socket and once through a worker's data plane, the relay stream (gRPC over loopback TCP,
 * plaintext) and back. A measurement, not a test: runs only with {@code -Dkeel.measure=relay}
 * and prints the figures.
 */
@EnabledIfSystemProperty(named = "keel.measure", matches = "relay")
@org.junit.jupiter.api.Timeout(120)
class IkeRelayLatency {

    private static final int WARMUP = 300;
    private static final int SAMPLES = 1_000;

    @Test
    void roundTripWithAndWithoutTheRelay() throws Exception {
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(2));
        try (DatagramChannel peer = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            // without: ike-service's own sockets
            UdpIkeSockets[] own = new UdpIkeSockets[1];
            own[0] = UdpIkeSockets.bind(vertx, "127.0.0.3", 0, 0, (port, from, buf, off, len) ->
                    own[0].send(port, from, Arrays.copyOfRange(buf, off, off + len))).await(10, TimeUnit.SECONDS);
            long[] direct = measure(peer, new InetSocketAddress("127.0.0.3", own[0].natTPort()));
            own[0].close();

            // with: a worker's data plane on 4500, the relay over loopback TCP, the echo behind it
            int port = IkeRelayEndToEndTest.portPair();
            IkeRelayService relay = new IkeRelayService("ike1", InetAddress.ofLiteral("127.0.0.2"), port, port + 1,
                    1_000);
            relay.receiver((p, from, buf, off, len) -> relay.send(p, from, Arrays.copyOfRange(buf, off, off + len)));
            Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(relay)
                    .build().start();
            ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext()
                    .build();
            ManagedChannel nowhere = InProcessChannelBuilder.forName("relay-latency-nowhere").build();
            long[] relayed;
            try (RelayWorker worker = RelayWorker.start(vertx, "w1", "127.0.0.2", port, port + 1, channel, nowhere)) {
                IkeRelayEndToEndTest.await(worker.relay::attached, 10_000, "attached");
                relayed = measure(peer, new InetSocketAddress("127.0.0.2", port + 1));
            } finally {
                channel.shutdownNow();
                nowhere.shutdownNow();
                server.shutdownNow();
            }
            System.out.printf("IKE round trip, 300-byte message, %d samples after %d: own socket median %.1f us"
                    + " p90 %.1f p99 %.1f; through the relay median %.1f us p90 %.1f p99 %.1f%n", SAMPLES, WARMUP,
                    q(direct, 0.5), q(direct, 0.9), q(direct, 0.99), q(relayed, 0.5), q(relayed, 0.9),
                    q(relayed, 0.99));
        } finally {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }

    /** Round trips in nanoseconds, sorted. */
    private static long[] measure(DatagramChannel peer, InetSocketAddress to) throws Exception {
        ByteBuffer out = ByteBuffer.allocate(304); // the non-ESP marker, then the message
        ByteBuffer in = ByteBuffer.allocate(2_048);
        peer.configureBlocking(true);
        peer.socket().setSoTimeout(2_000);
        long[] took = new long[SAMPLES];
        for (int i = -WARMUP; i < SAMPLES; i++) {
            out.clear();
            out.putInt(0).putInt(i);
            out.position(304).flip();
            long start = System.nanoTime();
            peer.send(out, to);
            in.clear();
            peer.receive(in);
            long t = System.nanoTime() - start;
            in.flip();
            assertThat(in.remaining()).isEqualTo(304);
            assertThat(in.getInt(4)).as("the echo of message " + i).isEqualTo(i);
            if (i >= 0) {
                took[i] = t;
            }
        }
        Arrays.sort(took);
        return took;
    }

    private static double q(long[] sorted, double quantile) {
        return sorted[(int) Math.min(sorted.length - 1, Math.round(quantile * sorted.length))] / 1_000.0;
    }
}
