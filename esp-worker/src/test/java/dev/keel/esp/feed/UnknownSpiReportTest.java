package dev.keel.esp.feed;

import dev.keel.proto.ChildKeyUnwrapper;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.acquire.AcquireLimiter;
import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.esp.forward.FedGateway;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.plain.VirtualWire;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.ManagedChannel;
import io.vertx.core.Vertx;
import io.vertx.core.internal.threadchecker.BlockedThreadEvent;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * ESP whose SPI has no SA in the data plane is dropped and counted as UNKNOWN_SPI, and reported,
 * with its SPI and sender, to the listener the node gave (in an HA pair, the claim of an SA another
 * node owns: docs/ha.md, "Packets at the node that does not own their SA"). IKE and keepalives are not.
 */
@Timeout(60)
class UnknownSpiReportTest {

    private record Report(int spi, InetSocketAddress sender) {
    }

    @Test
    void unknownSpisAreCountedAndReportedWithTheirSender() throws Exception {
        Queue<BlockedThreadEvent> blocked = new ConcurrentLinkedQueue<>();
        Queue<Report> reports = new ConcurrentLinkedQueue<>();
        Vertx vertx = Fixtures.vertx(2, blocked);
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        ExecutorService acquires = Executors.newSingleThreadExecutor();
        ManagedChannel nowhere = InProcessChannelBuilder.forName("unknown-spi-nowhere").build();
        try (DatagramChannel peer = Fixtures.socket("127.0.0.1"); DatagramChannel host = Fixtures.socket("127.0.0.1")) {
            SaTables sas = new SaTables("w1", new ChildKeyUnwrapper(new byte[32]), sa -> { },
                    new ReplayCheckpoints(nowhere, "w1", CheckpointRule.defaults()), ExpiryListener.NONE, scheduler);
            InetSocketAddress udp = Fixtures.freeUdp("127.0.0.2");
            InetSocketAddress wire = Fixtures.freeUdp("127.0.0.2");
            FedGateway gw = FedGateway.start(vertx, FedGateway.Config.of(udp)
                            .withUnknownSpi((spi, sender) -> reports.add(new Report(spi, sender))),
                    new VirtualWire(vertx, wire, Fixtures.local(host), UdpOptions.DEFAULTS), new SpdTable(), sas,
                    new AcquireLimiter(a -> { }, acquires, Duration.ofSeconds(5))).await(10, TimeUnit.SECONDS);
            try {
                byte[] esp = new byte[64];
                esp[0] = (byte) 0xca;
                esp[1] = (byte) 0xfe;
                esp[2] = 0x00;
                esp[3] = 0x01;
                esp[7] = 1;
                Fixtures.send(peer, esp, udp);
                byte[] ikeBehindMarker = new byte[32]; // four zero bytes, then an IKE header
                ikeBehindMarker[4] = 1;
                Fixtures.send(peer, ikeBehindMarker, udp);
                Fixtures.send(peer, new byte[] {(byte) 0xff}, udp); // NAT keepalive
                Fixtures.await(() -> !reports.isEmpty(), 5_000, () -> "no report");
                Thread.sleep(200);
                assertThat(List.copyOf(reports)).containsExactly(new Report(0xcafe0001, Fixtures.local(peer)));
                assertThat(gw.espCounters().get(DecapOutcome.UNKNOWN_SPI)).isEqualTo(1);
            } finally {
                gw.close().await(10, TimeUnit.SECONDS);
            }
            assertThat(blocked).isEmpty();
        } finally {
            nowhere.shutdownNow();
            scheduler.shutdownNow();
            acquires.shutdownNow();
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }
}
