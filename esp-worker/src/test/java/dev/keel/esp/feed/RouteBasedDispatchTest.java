package dev.keel.esp.feed;

import static dev.keel.esp.feed.Fixtures.await;
import static dev.keel.esp.feed.Fixtures.send;
import static dev.keel.esp.feed.Fixtures.udp;
import static dev.keel.esp.feed.Fixtures.v4;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.spd.Spd;
import dev.keel.core.spd.SpdEntry;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.acquire.Acquire;
import dev.keel.esp.acquire.AcquireLimiter;
import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.esp.forward.FedGateway;
import dev.keel.esp.forward.ForwardDrop;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.packet.EncapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.packet.EspEncapsulator;
import dev.keel.esp.packet.Suites;
import dev.keel.esp.plain.PlaintextPort;
import dev.keel.esp.plain.VirtualWire;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.proto.ChildKeyUnwrapper;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.sad.keys.KeyEncryptionKey;
import dev.keel.sad.keys.KeyWrap;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.internal.threadchecker.BlockedThreadEvent;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Route-based dispatch on a running data plane (no privileges: every plaintext side is a virtual
 * wire): two route-based connections, both with 0.0.0.0/0 selectors, each with its own interface
 * (outlet), beside a policy-based one on the shared side. What is read from an interface leaves
 * through that interface's connection's SA and no other; what a connection's SA delivers comes
 * out of its interface and no other; the shared side never reaches a route-based SA.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RouteBasedDispatchTest {

    static final TrafficSelector ANY4 = TrafficSelector.parse("0.0.0.0/0");
    static final byte[] LAN_HOST = v4(10, 1, 0, 5);
    static final byte[] FAR_HOST = v4(10, 77, 0, 9);

    private final ConcurrentLinkedQueue<BlockedThreadEvent> blocked = new ConcurrentLinkedQueue<>();
    private final List<Acquire> acquired = Collections.synchronizedList(new ArrayList<>());
    private final List<OutboundSa> leaseRequests = Collections.synchronizedList(new ArrayList<>());
    private final List<DatagramChannel> sockets = new ArrayList<>();
    private ExecutorService acquireExecutor;
    private SpdTable spd;
    private SaTables sas;
    private KeyWrap wrap;
    private Vertx vertx;
    private FedGateway gw;
    private InetSocketAddress udpW;
    /** The plaintext hosts behind the shared side and the two interfaces, and where each one's wire listens. */
    private final DatagramChannel[] hosts = new DatagramChannel[3];
    private final InetSocketAddress[] wires = new InetSocketAddress[3];
    /** The two peers' ESP sinks. */
    private DatagramChannel peer1;
    private DatagramChannel peer2;

    private DatagramChannel socket(String host) throws Exception {
        DatagramChannel ch = Fixtures.socket(host);
        sockets.add(ch);
        return ch;
    }

    @BeforeEach
    void start() throws Exception {
        byte[] kek = new byte[KeyEncryptionKey.LENGTH];
        new SecureRandom().nextBytes(kek);
        wrap = new KeyWrap(KeyEncryptionKey.of(kek));
        acquireExecutor = Executors.newSingleThreadExecutor();
        spd = new SpdTable();
        spd.interfaces(List.of("keel-aws1", "keel-aws2"));
        spd.publish(Spd.of(List.of(
                SpdEntry.protect("site-b", "net", TrafficSelector.parse("10.1.0.0/16"), TrafficSelector.parse("10.2.0.0/16")),
                SpdEntry.protect("aws1", "tun", ANY4, ANY4).onInterface("keel-aws1"),
                SpdEntry.protect("aws2", "tun", ANY4, ANY4).onInterface("keel-aws2"))), 1, 1);
        sas = new SaTables("w1", new ChildKeyUnwrapper(kek), leaseRequests::add, new ReplayCheckpoints(
                InProcessChannelBuilder.forName("nowhere").build(), "w1", CheckpointRule.defaults()),
                ExpiryListener.NONE, Runnable::run);
        Map<String, Integer> outlets = Map.of("aws1", 1, "aws2", 2);
        sas.outlets(c -> outlets.getOrDefault(c, 0));
        vertx = Fixtures.vertx(2, blocked);
        for (int i = 0; i < 3; i++) {
            hosts[i] = socket("127.0.0.1");
            wires[i] = Fixtures.freeUdp("127.0.0.2");
        }
        peer1 = socket("127.0.0.3");
        peer2 = socket("127.0.0.4");
        udpW = Fixtures.freeUdp("127.0.0.2");
        List<PlaintextPort> routed = List.of(
                new VirtualWire(vertx, wires[1], Fixtures.local(hosts[1]), UdpOptions.DEFAULTS),
                new VirtualWire(vertx, wires[2], Fixtures.local(hosts[2]), UdpOptions.DEFAULTS));
        gw = FedGateway.start(vertx, FedGateway.Config.of(udpW),
                new VirtualWire(vertx, wires[0], Fixtures.local(hosts[0]), UdpOptions.DEFAULTS), routed, spd, sas,
                new AcquireLimiter(acquired::add, acquireExecutor, Duration.ofSeconds(60))).await(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        try {
            if (gw != null) {
                gw.close().await(10, TimeUnit.SECONDS);
            }
            sas.clear();
            acquireExecutor.shutdownNow();
            for (DatagramChannel s : sockets) {
                s.close();
            }
        } finally {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
        assertThat(blocked).as("event loops reported blocked").isEmpty();
    }

    /** Installs a pair of {@code connection}'s child {@code tun}: inbound {@code inSpi}, outbound {@code outSpi} to {@code peer}. */
    private void installPair(String connection, int inSpi, int outSpi, DatagramChannel peer) throws Exception {
        installPair(connection, "", inSpi, outSpi, peer);
    }

    /** As above, the records' ids suffixed with {@code generation} (a rekey installs a new pair beside the old). */
    private void installPair(String connection, String generation, int inSpi, int outSpi, DatagramChannel peer)
            throws Exception {
        InetSocketAddress p = Fixtures.local(peer);
        // no replay window: its checkpoints would go to a sad-service this test does not run
        ChildSaRecord in = FedRecords.record(connection + "-in" + generation, inSpi, Direction.DIRECTION_INBOUND, "w1",
                wrap).toBuilder().setConnection(connection).setChild("tun").setReplayWindow(0).build();
        ChildSaRecord out = FedRecords.record(connection + "-out" + generation, outSpi, Direction.DIRECTION_OUTBOUND,
                "w1", wrap).toBuilder().setConnection(connection).setChild("tun").setCreatedAtMs(2 + generation.length())
                .setPeer(CoreMapping.endpoint(p.getAddress(), p.getPort())).build();
        sas.upsert(in);
        sas.upsert(out);
        OutboundSa o = leaseRequests.getLast();
        assertThat(o.offerLease(1, 10_000)).isTrue();
        sas.leaseArrived(connection + "-out" + generation);
        assertThat(sas.outbound().lookup(connection + "/tun")).as(connection + "'s outbound SA").isNotNull();
    }

    /** Sends {@code inner} to the data plane as ESP of {@code spi} from {@code peer}. */
    private void sendEsp(int spi, byte[] inner, DatagramChannel peer) throws Exception {
        OutboundSa peerSa = new OutboundSa(Suites.AES128_GCM16.spec(spi, IpsecMode.TUNNEL, false, 0, 64), null);
        PacketBuffer pkt = new PacketBuffer(2048);
        System.arraycopy(inner, 0, pkt.data(), pkt.offset(), inner.length);
        pkt.bounds(pkt.offset(), inner.length);
        assertThat(new EspEncapsulator(new EspCounters()).encapsulate(peerSa, pkt)).isEqualTo(EncapOutcome.PROTECTED);
        peer.send(ByteBuffer.wrap(pkt.data(), pkt.offset(), pkt.length()), udpW);
        peerSa.close();
    }

    @Test
    void aRekeyedPairKeepsItsInterface() throws Exception {
        installPair("aws1", 0x1001, 0x2001, peer1);
        installPair("aws2", 0x1002, 0x2002, peer2);
        // CHILD SA rekey (RFC 7296 §2.8): the new pair is installed beside the old, then the old goes
        installPair("aws1", "-2", 0x1011, 0x2011, peer1);
        assertThat(sas.remove("aws1-in")).isTrue();
        assertThat(sas.remove("aws1-out")).isTrue();
        send(hosts[1], udp(LAN_HOST, FAR_HOST, 53, 40, 1), wires[1]);
        assertThat(spiAt(peer1)).as("keel-aws1 now leaves through the new SA").isEqualTo(0x2011);
        byte[] inner = udp(FAR_HOST, LAN_HOST, 5000, 40, 9);
        sendEsp(0x1011, inner, peer1);
        assertThat(Fixtures.receive(hosts[1], 3000)).as("the new inbound SA delivers to keel-aws1").isEqualTo(inner);
        assertThat(Fixtures.receive(hosts[2], 100)).isNull();
    }

    /** The SPI of an ESP-in-UDP datagram received at {@code peer}, or -1 when none came. */
    private static int spiAt(DatagramChannel peer) throws Exception {
        byte[] esp = Fixtures.receive(peer, 3000);
        return esp == null ? -1 : BigEndian.getInt(esp, 0);
    }

    @Test
    void eachInterfaceSendsThroughItsOwnConnectionsSaAlthoughBothSelectEverything() throws Exception {
        installPair("aws1", 0x1001, 0x2001, peer1);
        installPair("aws2", 0x1002, 0x2002, peer2);
        byte[] packet = udp(LAN_HOST, FAR_HOST, 53, 40, 1);

        send(hosts[1], packet, wires[1]);
        assertThat(spiAt(peer1)).as("read from keel-aws1: aws1's SA").isEqualTo(0x2001);
        send(hosts[2], packet, wires[2]);
        assertThat(spiAt(peer2)).as("read from keel-aws2: aws2's SA").isEqualTo(0x2002);
        assertThat(Fixtures.receive(peer1, 200)).as("nothing else reached aws1's peer").isNull();

        // The shared side's SPD holds neither 0.0.0.0/0 entry: no match, dropped, no tunnel.
        send(hosts[0], packet, wires[0]);
        await(() -> gw.counters().drops(ForwardDrop.NO_POLICY) == 1, 5000, () -> gw.counters().toString());
        assertThat(Fixtures.receive(peer1, 200)).isNull();
        assertThat(Fixtures.receive(peer2, 200)).isNull();
        assertThat(acquired).isEmpty();
    }

    @Test
    void whatAConnectionsSaDeliversComesOutOfItsInterfaceOnly() throws Exception {
        installPair("aws1", 0x1001, 0x2001, peer1);
        installPair("aws2", 0x1002, 0x2002, peer2);
        byte[] inner = udp(FAR_HOST, LAN_HOST, 5000, 40, 7);
        for (int[] c : new int[][] {{0x1002, 2}, {0x1001, 1}}) {
            sendEsp(c[0], inner, c[1] == 1 ? peer1 : peer2);
            assertThat(Fixtures.receive(hosts[c[1]], 3000)).as("SPI %x comes out of interface %d (%s, %s)", c[0],
                    c[1], gw.espCounters().inboundSnapshot(), gw.counters()).isEqualTo(inner);
            for (int other = 0; other < 3; other++) {
                if (other != c[1]) {
                    assertThat(Fixtures.receive(hosts[other], 100)).as("not out of outlet %d", other).isNull();
                }
            }
        }
    }

    @Test
    void aRouteBasedConnectionWithoutAnSaAcquiresItsOwnChild() throws Exception {
        installPair("aws1", 0x1001, 0x2001, peer1);
        send(hosts[2], udp(LAN_HOST, FAR_HOST, 53, 40, 1), wires[2]);
        await(() -> acquired.size() == 1, 5000, () -> "acquires " + acquired);
        assertThat(acquired.getFirst().connection()).isEqualTo("aws2");
        assertThat(Fixtures.receive(peer1, 200)).as("aws1's SA does not stand in for aws2's").isNull();
    }
}
