package dev.keel.esp.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.net.IpPrefix;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EncapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.packet.EspEncapsulator;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.esp.sa.OutboundSa;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Two gateways in one JVM on loopback, two event loops each, static AES-128-GCM SAs and
 * virtual wires: traffic crosses intact and in order; replayed, forged and unroutable packets
 * are counted and never delivered; IKE and keepalives are demultiplexed; and no event loop is
 * ever reported blocked.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(120)
class GatewayPairTest {

    private static final int COUNT = 100_000;

    private TwoGateways pair;

    @BeforeAll
    void start() throws Exception {
        pair = new TwoGateways(ForwardMode.ESP, 2, Duration.ofMillis(100));
    }

    @AfterAll
    void stop() throws Exception {
        if (pair != null) {
            try {
                assertThat(pair.blocked).as("Vert.x blocked-thread events").isEmpty();
            } finally {
                pair.close();
            }
        }
    }

    @Test
    @Order(1)
    @Timeout(60)
    void hundredThousandMixedSizePacketsArriveIntactAndInOrder() throws Exception {
        long delivered0 = pair.b.espCounters().get(DecapOutcome.DELIVERED);
        long nanos = pair.pump(COUNT, 512, 5_000, TwoGateways::packet, (n, got) -> {
            byte[] want = TwoGateways.packet(n);
            byte[] have = new byte[got.remaining()];
            got.get(have);
            if (!Arrays.equals(want, have)) {
                int id = have.length >= 6 ? ((have[4] & 0xff) << 8) | (have[5] & 0xff) : -1;
                return "expected packet " + n + " (" + want.length + " B), got " + have.length + " B with IP id " + id;
            }
            return null;
        });
        System.out.printf("100k mixed packets A->B in %.2f s (%.0f packets/s)%n", nanos / 1e9, COUNT / (nanos / 1e9));
        assertThat(pair.b.espCounters().get(DecapOutcome.DELIVERED) - delivered0).isEqualTo(COUNT);
        assertThat(pair.a.espCounters().get(EncapOutcome.PROTECTED)).isGreaterThanOrEqualTo(COUNT);
        assertThat(pair.a.counters().drops(ForwardDrop.BACKPRESSURE)).isZero();
        assertThat(pair.b.espCounters().get(DecapOutcome.REPLAYED)).isZero();
        assertThat(pair.b.espCounters().get(DecapOutcome.ICV_FAILURE)).isZero();
    }

    @Test
    @Order(2)
    void replayedAndBitFlippedOuterPacketsAreCountedAndNeverDelivered() throws Exception {
        // A genuine outer packet as A would send it: same SA keys, a sequence number far ahead.
        OutboundSa asA = new OutboundSa(TwoGateways.spec(TwoGateways.SPI_A_TO_B), 10_000_000L, null);
        EspEncapsulator encap = new EspEncapsulator(new EspCounters());
        byte[] genuine = seal(encap, asA, TwoGateways.packet(7_001, 200));
        byte[] forged = seal(encap, asA, TwoGateways.packet(7_002, 300));
        forged[forged.length / 2] ^= 0x10;
        byte[] later = seal(encap, asA, TwoGateways.packet(7_003, 400));

        EspCounters esp = pair.b.espCounters();
        long delivered = esp.get(DecapOutcome.DELIVERED);
        long replayed = esp.get(DecapOutcome.REPLAYED);
        long icv = esp.get(DecapOutcome.ICV_FAILURE);
        long plainOut = pair.b.counters().plaintextOut();
        pair.hostB.configureBlocking(false);
        drain();

        try (var outsider = java.nio.channels.DatagramChannel.open()) {
            outsider.send(ByteBuffer.wrap(genuine), pair.udpB);
            await(() -> esp.get(DecapOutcome.DELIVERED) == delivered + 1);
            assertThat(receiveOne()).isEqualTo(TwoGateways.packet(7_001, 200));

            outsider.send(ByteBuffer.wrap(genuine), pair.udpB); // the capture, replayed
            outsider.send(ByteBuffer.wrap(forged), pair.udpB);
            await(() -> esp.get(DecapOutcome.REPLAYED) == replayed + 1 && esp.get(DecapOutcome.ICV_FAILURE) == icv + 1);

            // The forged packet did not move the window: the next genuine one still gets through.
            outsider.send(ByteBuffer.wrap(later), pair.udpB);
            await(() -> esp.get(DecapOutcome.DELIVERED) == delivered + 2);
            assertThat(receiveOne()).isEqualTo(TwoGateways.packet(7_003, 400));
        }
        assertThat(receiveOne(200)).as("nothing else came out of B's wire").isNull();
        assertThat(pair.b.counters().plaintextOut() - plainOut).isEqualTo(2);
    }

    @Test
    @Order(3)
    void ikeGoesToTheHandoffAndKeepalivesAreCounted() throws Exception {
        byte[] ike = new byte[4 + 28 + 8];
        for (int i = 4; i < ike.length; i++) {
            ike[i] = (byte) i; // non-ESP marker (4 zero bytes), then a fake IKE header
        }
        long keepalives = pair.b.counters().keepalivesReceived();
        try (var outsider = java.nio.channels.DatagramChannel.open()) {
            outsider.send(ByteBuffer.wrap(ike), pair.udpB);
            outsider.send(ByteBuffer.wrap(new byte[] {(byte) 0xff}), pair.udpB);
            outsider.send(ByteBuffer.wrap(new byte[] {1, 2, 3}), pair.udpB);
            await(() -> !pair.ikeAtB.isEmpty());
            assertThat(pair.ikeAtB.poll()).isEqualTo(Arrays.copyOfRange(ike, 4, ike.length));
            await(() -> pair.b.counters().drops(ForwardDrop.MALFORMED_DATAGRAM) == 1);
        }
        assertThat(pair.b.counters().ikeHandedOff()).isEqualTo(1);

        // And the way back: B sends an IKE message, framed with the marker, from its 4500 socket.
        try (var peer = java.nio.channels.DatagramChannel.open()) {
            peer.bind(new java.net.InetSocketAddress("127.0.0.1", 0)).configureBlocking(false);
            byte[] reply = Arrays.copyOfRange(ike, 4, ike.length);
            pair.b.sendIke(reply, 0, reply.length, (java.net.InetSocketAddress) peer.getLocalAddress());
            ByteBuffer bb = ByteBuffer.allocate(2048);
            long deadline = System.nanoTime() + 5_000_000_000L;
            java.net.SocketAddress from = null;
            while (from == null && System.nanoTime() < deadline) {
                from = peer.receive(bb);
                Thread.sleep(from == null ? 2 : 0);
            }
            assertThat(from).isEqualTo(pair.udpB);
            bb.flip();
            byte[] got = new byte[bb.remaining()];
            bb.get(got);
            assertThat(got).isEqualTo(ike);
        }
        // The outsider's keepalive plus A's own, sent every 100 ms to its peer B.
        await(() -> pair.b.counters().keepalivesReceived() >= keepalives + 3);
        assertThat(pair.a.counters().keepalivesSent()).isPositive();
    }

    @Test
    @Order(4)
    void unroutableAndSaLessPacketsAreDroppedByReason() throws Exception {
        ForwardCounters c = pair.a.counters();
        long noRoute = c.drops(ForwardDrop.NO_ROUTE);
        long noSa = c.drops(ForwardDrop.NO_SA);
        long notIp = c.drops(ForwardDrop.NOT_IP);
        pair.a.routes().add(new Route(TrafficSelector.of(IpPrefix.parse("10.3.0.0/16")), null, pair.udpB));
        byte[] toNowhere = InnerPackets.ipv4(TwoGateways.NET_A, new byte[] {10, 9, 0, 1}, 17, 50, 1);
        byte[] toNoSa = InnerPackets.ipv4(TwoGateways.NET_A, new byte[] {10, 3, 0, 1}, 17, 50, 2);
        pair.hostA.send(ByteBuffer.wrap(toNowhere), pair.wireA);
        pair.hostA.send(ByteBuffer.wrap(toNoSa), pair.wireA);
        pair.hostA.send(ByteBuffer.wrap(new byte[] {0x45, 0, 0}), pair.wireA);
        await(() -> c.drops(ForwardDrop.NO_ROUTE) == noRoute + 1 && c.drops(ForwardDrop.NO_SA) == noSa + 1
                && c.drops(ForwardDrop.NOT_IP) == notIp + 1);
    }

    private static byte[] seal(EspEncapsulator encap, OutboundSa sa, byte[] inner) {
        PacketBuffer pkt = new PacketBuffer(2048).set(inner, 0, inner.length);
        assertThat(encap.encapsulate(sa, pkt)).isEqualTo(EncapOutcome.PROTECTED);
        return pkt.toByteArray();
    }

    private byte[] receiveOne() throws Exception {
        return receiveOne(2_000);
    }

    private byte[] receiveOne(long millis) throws Exception {
        ByteBuffer bb = ByteBuffer.allocate(65536);
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (System.nanoTime() < deadline) {
            if (pair.hostB.receive(bb) != null) {
                bb.flip();
                byte[] b = new byte[bb.remaining()];
                bb.get(b);
                return b;
            }
            Thread.sleep(1);
        }
        return null;
    }

    private void drain() throws Exception {
        ByteBuffer bb = ByteBuffer.allocate(65536);
        while (pair.hostB.receive(bb) != null) {
            bb.clear();
        }
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not reached within 5 s");
            }
            Thread.sleep(2);
        }
    }

}
