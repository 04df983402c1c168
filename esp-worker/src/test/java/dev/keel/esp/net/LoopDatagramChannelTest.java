package dev.keel.esp.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.threadchecker.BlockedThreadEvent;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The event-loop datagram channel: SO_REUSEPORT on every loop, recvmmsg batches, the blocked-thread checker. */
@Timeout(60)
class LoopDatagramChannelTest {

    private Vertx vertx;
    private final ConcurrentLinkedQueue<BlockedThreadEvent> blocked = new ConcurrentLinkedQueue<>();

    @BeforeEach
    void start() {
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(2)
                .setBlockedThreadCheckInterval(20).setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
                .setMaxEventLoopExecuteTime(150).setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS));
        ((VertxInternal) vertx).blockedThreadChecker().setThreadBlockedHandler(blocked::add);
    }

    @AfterEach
    void stop() throws Exception {
        vertx.close().await(10, TimeUnit.SECONDS);
    }

    @Test
    void vertxRunsTheEpollTransport() {
        assertThat(vertx.isNativeTransportEnabled()).isTrue();
        assertThat(EventLoops.of(vertx)).hasSize(2);
    }

    @Test
    void everyLoopBindsTheSameAddressAndReadsInBatches() throws Exception {
        List<EventLoop> loops = EventLoops.of(vertx);
        InetSocketAddress addr = new InetSocketAddress("127.0.0.4", freePort());
        List<Integer> batchSizes = new CopyOnWriteArrayList<>();
        AtomicInteger total = new AtomicInteger();
        List<LoopDatagramChannel> channels = new ArrayList<>();
        for (EventLoop loop : loops) {
            int[] inBatch = {0};
            channels.add(LoopDatagramChannel.open(vertx, loop, addr, UdpOptions.DEFAULTS, new DatagramReceiver() {
                @Override
                public void onDatagram(ByteBuf payload, InetSocketAddress sender) {
                    inBatch[0]++;
                    total.incrementAndGet();
                }

                @Override
                public void onBatchEnd() {
                    batchSizes.add(inBatch[0]);
                    inBatch[0] = 0;
                }
            }, new LongAdder()).await(10, TimeUnit.SECONDS));
        }
        assertThat(channels).allSatisfy(c -> assertThat(c.localAddress()).isEqualTo(addr));

        // Hold both loops busy (briefly, under the blocked-thread limit) while 200 datagrams queue up.
        var gate = new java.util.concurrent.CountDownLatch(1);
        for (EventLoop loop : loops) {
            loop.execute(() -> {
                try {
                    gate.await(100, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        try (DatagramChannel sender = DatagramChannel.open(StandardProtocolFamily.INET)) {
            for (int i = 0; i < 200; i++) {
                sender.send(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, (byte) i}), addr);
            }
        }
        gate.countDown();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (total.get() < 200 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(total.get()).isEqualTo(200);
        // One sender = one 4-tuple = one socket; recvmmsg hands over up to 32 datagrams per call.
        assertThat(batchSizes.stream().mapToInt(Integer::intValue).max().orElse(0)).isGreaterThan(1);
        for (LoopDatagramChannel c : channels) {
            c.close().await(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void theBlockedThreadCheckerSeesAReceiverThatBlocks() throws Exception {
        EventLoop loop = EventLoops.of(vertx).getFirst();
        InetSocketAddress addr = new InetSocketAddress("127.0.0.4", freePort());
        LoopDatagramChannel ch = LoopDatagramChannel.open(vertx, loop, addr, UdpOptions.DEFAULTS, new DatagramReceiver() {
            @Override
            public void onDatagram(ByteBuf payload, InetSocketAddress sender) {
                try {
                    Thread.sleep(400); // what the data plane must never do
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }

            @Override
            public void onBatchEnd() {
            }
        }, new LongAdder()).await(10, TimeUnit.SECONDS);
        try (DatagramChannel sender = DatagramChannel.open(StandardProtocolFamily.INET)) {
            sender.send(ByteBuffer.wrap(new byte[] {1}), addr);
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (blocked.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(blocked).isNotEmpty();
        assertThat(blocked.peek().thread().getName()).startsWith("vert.x-eventloop-thread");
        ch.close().await(5, TimeUnit.SECONDS);
    }

    private static int freePort() throws Exception {
        try (DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET)) {
            ch.bind(new InetSocketAddress("127.0.0.4", 0));
            return ((InetSocketAddress) ch.getLocalAddress()).getPort();
        }
    }
}
