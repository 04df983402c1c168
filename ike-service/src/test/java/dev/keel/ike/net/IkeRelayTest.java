package dev.keel.ike.net;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.keel.core.net.IpAddress;
import dev.keel.esp.net.IkeHandoff;
import dev.keel.esp.net.IkeRelayClient;
import dev.keel.esp.net.IkeRelayClient.Drop;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.IkeDatagram;
import dev.keel.proto.v1.IkeRelayGrpc;
import dev.keel.proto.v1.RelayAcquire;
import dev.keel.proto.v1.RelayExpiry;
import dev.keel.proto.v1.RelayFrame;
import dev.keel.proto.v1.RelayHello;
import dev.keel.proto.v1.RelayWelcome;
import dev.keel.proto.v1.UnknownEsp;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The IKE relay with in-process gRPC: esp-worker's {@link IkeRelayClient} against ike-service's
 * {@link IkeRelayService}, several workers on one service, a broken stream and the reconnect, the
 * bounded queue, and every kind of bad frame either way.
 */
@Timeout(60)
class IkeRelayTest {

    private static final InetAddress OUTER = InetAddress.ofLiteral("192.0.2.10");
    private static final InetSocketAddress NAT_T = new InetSocketAddress(OUTER, 4500);
    private static final InetSocketAddress IKE = new InetSocketAddress(OUTER, 500);
    private static final InetSocketAddress PEER_1 = new InetSocketAddress("198.51.100.1", 4500);
    private static final InetSocketAddress PEER_2 = new InetSocketAddress("198.51.100.2", 61_000);

    /** A message as a socket saw it: which worker's socket, from or to whom, what. */
    private record Seen(String via, int port, InetSocketAddress peer, String text) {
    }

    private final List<AutoCloseable> closing = new ArrayList<>();
    private final String name = InProcessServerBuilder.generateName();
    private final Queue<Seen> atEngine = new ConcurrentLinkedQueue<>();
    private final Queue<Seen> sentToPeers = new ConcurrentLinkedQueue<>();

    @AfterEach
    void close() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private IkeRelayService service() throws Exception {
        IkeRelayService relay = new IkeRelayService("ike1", OUTER, 500, 4500, 1_000);
        relay.receiver((port, peer, buf, off, len) -> atEngine.add(new Seen("engine", port, peer,
                new String(buf, off, len))));
        serve(relay);
        return relay;
    }

    private void serve(io.grpc.BindableService s) throws Exception {
        Server server = InProcessServerBuilder.forName(name).addService(s).build().start();
        closing.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    }

    /** A worker with both ports; returns {4500 hand-off, 500 hand-off}. */
    private IkeHandoff[] worker(String id, IkeRelayClient.Settings settings, IkeRelayClient[] out) {
        ManagedChannel ch = InProcessChannelBuilder.forName(name).build();
        closing.add(ch::shutdownNow);
        IkeRelayClient c = new IkeRelayClient(ch, settings);
        IkeHandoff natT = c.port(NAT_T, (m, off, len, peer) -> sentToPeers.add(new Seen(id, 4500, peer,
                new String(m, off, len))));
        IkeHandoff ike = c.port(IKE, (m, off, len, peer) -> sentToPeers.add(new Seen(id, 500, peer,
                new String(m, off, len))));
        closing.add(c);
        out[0] = c.start();
        return new IkeHandoff[] {natT, ike};
    }

    private IkeHandoff[] worker(String id, IkeRelayClient[] out) {
        return worker(id, new IkeRelayClient.Settings(id, 64, Duration.ofMillis(20), Duration.ofMillis(200)), out);
    }

    private static void from(IkeHandoff h, InetSocketAddress peer, String text) {
        byte[] b = ("xx" + text).getBytes(); // an offset, as the data plane's buffer has
        h.onIkeMessage(b, 2, b.length - 2, peer);
    }

    @Test
    void messagesReachTheEngineAndAnswersLeaveThroughTheirPort() throws Exception {
        IkeRelayService relay = service();
        IkeRelayClient[] w = new IkeRelayClient[1];
        IkeHandoff[] h = worker("w1", w);
        await(w[0]::attached, "attached");

        from(h[1], PEER_1, "init");
        from(h[0], PEER_2, "auth");
        await(() -> atEngine.size() == 2, "both at the engine");
        assertThat(atEngine).containsExactlyInAnyOrder(new Seen("engine", 500, PEER_1, "init"),
                new Seen("engine", 4500, PEER_2, "auth"));

        relay.send(500, PEER_1, "init-reply".getBytes());
        relay.send(4500, PEER_2, "auth-reply".getBytes());
        await(() -> sentToPeers.size() == 2, "both answers out");
        assertThat(sentToPeers).containsExactlyInAnyOrder(new Seen("w1", 500, PEER_1, "init-reply"),
                new Seen("w1", 4500, PEER_2, "auth-reply"));
        assertThat(w[0].relayed()).isEqualTo(2);
        assertThat(w[0].answered()).isEqualTo(2);
        assertThat(relay.received()).isEqualTo(2);
        assertThat(relay.sent()).isEqualTo(2);
    }

    @Test
    void aBurstOfAnswersWaitsForTheWorkerInsteadOfBeingDropped() throws Exception {
        // the worker asks gRPC for one frame at a time: a stream is "not ready" between two of them
        IkeRelayService relay = service();
        IkeRelayClient[] w = new IkeRelayClient[1];
        IkeHandoff[] h = worker("w1", w);
        await(w[0]::attached, "attached");
        from(h[0], PEER_1, "init");
        await(() -> atEngine.size() == 1, "at the engine");
        for (int i = 0; i < 200; i++) {
            relay.send(4500, PEER_1, ("answer " + i).getBytes());
        }
        await(() -> sentToPeers.size() == 200, "all 200 answers out, got " + sentToPeers.size());
        assertThat(relay.drops(IkeRelayService.Drop.WORKER_BUSY)).isZero();
    }

    @Test
    void answersGoThroughTheWorkerThePeerLastCameThrough() throws Exception {
        IkeRelayService relay = service();
        IkeRelayClient[] w1 = new IkeRelayClient[1];
        IkeRelayClient[] w2 = new IkeRelayClient[1];
        IkeHandoff[] h1 = worker("w1", w1);
        IkeHandoff[] h2 = worker("w2", w2);
        await(() -> w1[0].attached() && w2[0].attached() && relay.workers() == 2, "both attached");

        from(h1[0], PEER_1, "a");
        from(h2[0], PEER_2, "b");
        await(() -> atEngine.size() == 2, "both at the engine");
        relay.send(4500, PEER_1, "to-1".getBytes());
        relay.send(4500, PEER_2, "to-2".getBytes());
        await(() -> sentToPeers.size() == 2, "answers out");
        assertThat(sentToPeers).containsExactlyInAnyOrder(new Seen("w1", 4500, PEER_1, "to-1"),
                new Seen("w2", 4500, PEER_2, "to-2"));

        // PEER_1's packets now reach w2 (an ECMP change, a worker restart): answered through w2
        sentToPeers.clear();
        from(h2[0], PEER_1, "moved");
        await(() -> atEngine.size() == 3, "at the engine");
        relay.send(4500, PEER_1, "to-1-again".getBytes());
        await(() -> sentToPeers.size() == 1, "answer out");
        assertThat(sentToPeers).containsExactly(new Seen("w2", 4500, PEER_1, "to-1-again"));

        // w2 leaves: its peers are answered through w1, which shares the address
        sentToPeers.clear();
        w2[0].close();
        await(() -> relay.workers() == 1, "w2 detached");
        relay.send(4500, PEER_2, "after".getBytes());
        await(() -> sentToPeers.size() == 1, "answer out");
        assertThat(sentToPeers).containsExactly(new Seen("w1", 4500, PEER_2, "after"));

        // nobody attached: counted, not thrown
        w1[0].close();
        await(() -> relay.workers() == 0, "w1 detached");
        relay.send(4500, PEER_2, "lost".getBytes());
        assertThat(relay.drops(IkeRelayService.Drop.NO_WORKER)).isEqualTo(1);
    }

    @Test
    void unknownEspReportsReachTheHandlerWithTheWorkersIdAndPeersMapToTheirWorker() throws Exception {
        IkeRelayService relay = service();
        Queue<String> reports = new ConcurrentLinkedQueue<>();
        relay.reports((worker, spi, sender) -> reports.add(worker + " " + Integer.toHexString(spi) + " " + sender));
        IkeRelayClient[] w1 = new IkeRelayClient[1];
        IkeRelayClient[] w2 = new IkeRelayClient[1];
        IkeHandoff[] h1 = worker("sad-a", w1);
        IkeHandoff[] h2 = worker("sad-b", w2);
        await(() -> w1[0].attached() && w2[0].attached(), "both attached");
        assertThat(relay.workerOf(PEER_1)).isNull();
        from(h1[0], PEER_1, "a");
        from(h2[0], PEER_2, "b");
        await(() -> atEngine.size() == 2, "both at the engine");
        assertThat(relay.workerOf(PEER_1)).isEqualTo("sad-a");
        assertThat(relay.workerOf(PEER_2)).isEqualTo("sad-b");

        assertThat(w2[0].reportUnknownEsp(0x0a0b0c0d, PEER_1)).isTrue();
        await(() -> reports.size() == 1, "the report at the handler");
        assertThat(reports).containsExactly("sad-b a0b0c0d " + PEER_1);
        assertThat(relay.reportsReceived()).isEqualTo(1);
        // the worker counts a report once gRPC took it, which may be after the handler already has it
        await(() -> w2[0].reportsSent() == 1, "the report counted as sent");
        assertThat(w2[0].reportsSent()).isEqualTo(1);
        assertThat(w2[0].relayed()).as("reports are not IKE messages").isEqualTo(1);
        assertThat(relay.received()).isEqualTo(2);

        // bad reports: counted, never handed on
        RawWorker raw = raw();
        raw.out.onNext(RelayFrame.newBuilder().setHello(RelayHello.newBuilder().setWorkerId("sad-c")
                .addLocal(ep(NAT_T))).build());
        assertThat(raw.frames.poll(5, TimeUnit.SECONDS).hasWelcome()).isTrue();
        raw.out.onNext(RelayFrame.newBuilder().setUnknownEsp(UnknownEsp.newBuilder().setSpi(0)
                .setSender(ep(PEER_1))).build());
        raw.out.onNext(RelayFrame.newBuilder().setUnknownEsp(UnknownEsp.newBuilder().setSpi(7)).build());
        raw.out.onNext(RelayFrame.newBuilder().setUnknownEsp(UnknownEsp.newBuilder().setSpi(7)
                .setSender(ep(new InetSocketAddress("2001:db8::1", 4500)))).build());
        raw.out.onNext(RelayFrame.newBuilder().setUnknownEsp(UnknownEsp.newBuilder().setSpi(7)
                .setSender(ep(PEER_2))).build());
        await(() -> reports.size() == 2, "the good one at the handler");
        assertThat(relay.drops(IkeRelayService.Drop.MALFORMED_REPORT)).isEqualTo(3);
        assertThat(reports).last().isEqualTo("sad-c 7 " + PEER_2);

        // a worker that left maps no peer any more
        w1[0].close();
        await(() -> relay.workers() == 2, "sad-a detached");
        assertThat(relay.workerOf(PEER_1)).isNull();
    }

    @Test
    void acquiresAndExpiriesReachTheReportsWithTheWorkersIdAndBadOnesAreCounted() throws Exception {
        IkeRelayService relay = service();
        Queue<String> reports = new ConcurrentLinkedQueue<>();
        relay.reports(new IkeRelayService.WorkerReports() {
            @Override
            public void onUnknownEsp(String worker, int spi, InetSocketAddress sender) {
                reports.add("esp " + worker);
            }

            @Override
            public void onAcquire(String worker, String connection, String child, IpAddress source,
                    IpAddress destination, int protocol) {
                reports.add("acquire " + worker + " " + connection + "/" + child + " " + source + " -> " + destination
                        + " " + protocol);
            }

            @Override
            public void onExpiry(String worker, String saId, boolean hard) {
                reports.add("expiry " + worker + " " + saId + (hard ? " hard" : " soft"));
            }
        });
        IkeRelayClient[] w = new IkeRelayClient[1];
        worker("sad-a", w);
        await(w[0]::attached, "attached");
        assertThat(w[0].reportAcquire("site", "net", IpAddress.parse("10.1.0.2"), IpAddress.parse("10.2.0.2"), 1))
                .isTrue();
        assertThat(w[0].reportExpiry("child-ike1-0a0b0c0d-in", false)).isTrue();
        assertThat(w[0].reportExpiry("child-ike1-0a0b0c0d-out", true)).isTrue();
        await(() -> reports.size() == 3, "three reports at the handler");
        assertThat(reports).containsExactly("acquire sad-a site/net 10.1.0.2 -> 10.2.0.2 1",
                "expiry sad-a child-ike1-0a0b0c0d-in soft", "expiry sad-a child-ike1-0a0b0c0d-out hard");
        assertThat(w[0].reportsSent()).isEqualTo(3);
        assertThat(relay.reportsReceived()).isEqualTo(3);

        RawWorker raw = raw();
        raw.out.onNext(RelayFrame.newBuilder().setHello(RelayHello.newBuilder().setWorkerId("sad-c")
                .addLocal(ep(NAT_T))).build());
        assertThat(raw.frames.poll(5, TimeUnit.SECONDS).hasWelcome()).isTrue();
        ByteString v4 = ByteString.copyFrom(new byte[] {10, 1, 0, 2});
        ByteString v6 = ByteString.copyFrom(new byte[16]);
        raw.out.onNext(RelayFrame.newBuilder().setAcquire(RelayAcquire.newBuilder().setChild("net").setSource(v4)
                .setDestination(v4)).build()); // no connection
        raw.out.onNext(RelayFrame.newBuilder().setAcquire(RelayAcquire.newBuilder().setConnection("site")
                .setChild("net").setSource(v4).setDestination(v6)).build()); // two families
        raw.out.onNext(RelayFrame.newBuilder().setAcquire(RelayAcquire.newBuilder().setConnection("site")
                .setChild("net").setSource(v4).setDestination(v4).setProtocol(256)).build());
        raw.out.onNext(RelayFrame.newBuilder().setExpiry(RelayExpiry.newBuilder().setHard(true)).build()); // no id
        raw.out.onNext(RelayFrame.newBuilder().setExpiry(RelayExpiry.newBuilder().setSaId("x")).build());
        await(() -> reports.size() == 4, "the good one at the handler");
        assertThat(reports).last().isEqualTo("expiry sad-c x soft");
        assertThat(relay.drops(IkeRelayService.Drop.MALFORMED_REPORT)).isEqualTo(4);
    }

    @Test
    void aBrokenStreamIsOpenedAgainAndMessagesMeanwhileAreCountedAsDisconnected() throws Exception {
        IkeRelayService relay = service();
        IkeRelayClient[] w = new IkeRelayClient[1];
        IkeHandoff[] h = worker("w1", w);
        await(w[0]::attached, "attached");
        from(h[0], PEER_1, "one");
        await(() -> atEngine.size() == 1, "first message");

        closing.removeFirst().close(); // the server goes away (ike-service restarting)
        await(() -> !w[0].attached(), "stream ended");
        from(h[0], PEER_1, "lost");
        assertThat(w[0].drops(Drop.DISCONNECTED)).isEqualTo(1);

        IkeRelayService again = new IkeRelayService("ike1", OUTER, 500, 4500, 1_000);
        again.receiver((port, peer, buf, off, len) -> atEngine.add(new Seen("engine2", port, peer,
                new String(buf, off, len))));
        serve(again);
        await(w[0]::attached, "attached again");
        assertThat(w[0].connects()).isGreaterThanOrEqualTo(2);
        from(h[0], PEER_1, "two");
        await(() -> atEngine.size() == 2, "message after the reconnect");
        assertThat(atEngine).contains(new Seen("engine2", 4500, PEER_1, "two"));
        again.send(4500, PEER_1, "reply".getBytes());
        await(() -> sentToPeers.size() == 1, "answer after the reconnect");
        assertThat(relay.received()).isEqualTo(1);
    }

    /** A server that takes the stream but never reads: the worker's writer waits, its queue fills. */
    private static final class Stalled extends IkeRelayGrpc.IkeRelayImplBase {
        @Override
        public StreamObserver<RelayFrame> relay(StreamObserver<RelayFrame> responses) {
            ((ServerCallStreamObserver<RelayFrame>) responses).disableAutoRequest();
            return new StreamObserver<>() {
                @Override
                public void onNext(RelayFrame f) {
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            };
        }
    }

    @Test
    void aFullQueueDropsAndCountsWithoutBlockingTheCaller() throws Exception {
        serve(new Stalled());
        IkeRelayClient[] w = new IkeRelayClient[1];
        IkeHandoff[] h = worker("w1", new IkeRelayClient.Settings("w1", 4, Duration.ofMillis(20),
                Duration.ofMillis(200)), w);
        await(() -> w[0].connects() == 1, "stream open");
        Thread.sleep(100);
        from(h[0], PEER_1, "first"); // taken by the writer, which then waits for the stalled stream
        Thread.sleep(200);
        long start = System.nanoTime();
        for (int i = 0; i < 1_000; i++) {
            from(h[0], PEER_1, "m" + i);
        }
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(w[0].drops(Drop.QUEUE_FULL)).isEqualTo(1_000 - 4);
        assertThat(w[0].relayed()).isZero();
        assertThat(tookMillis).as("1,000 hand-offs never wait for the stream").isLessThan(2_000);
    }

    /** A server that answers the hello with what the test gives it. */
    private static final class Scripted extends IkeRelayGrpc.IkeRelayImplBase {
        final List<RelayFrame> script;
        final LinkedBlockingQueue<RelayFrame> got = new LinkedBlockingQueue<>();

        Scripted(List<RelayFrame> script) {
            this.script = script;
        }

        @Override
        public StreamObserver<RelayFrame> relay(StreamObserver<RelayFrame> responses) {
            return new StreamObserver<>() {
                @Override
                public void onNext(RelayFrame f) {
                    got.add(f);
                    if (f.hasHello()) {
                        script.forEach(responses::onNext);
                    }
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    responses.onCompleted();
                }
            };
        }
    }

    private static RelayFrame datagram(Endpoint peer, Endpoint local, String message) {
        IkeDatagram.Builder d = IkeDatagram.newBuilder().setMessage(ByteString.copyFromUtf8(message));
        if (peer != null) {
            d.setPeer(peer);
        }
        if (local != null) {
            d.setLocal(local);
        }
        return RelayFrame.newBuilder().setDatagram(d).build();
    }

    private static Endpoint ep(InetSocketAddress a) {
        return CoreMapping.endpoint(a.getAddress(), a.getPort());
    }

    @Test
    void theWorkerCountsAndDropsEveryBadFrameFromTheService() throws Exception {
        RelayFrame welcome = RelayFrame.newBuilder().setWelcome(RelayWelcome.newBuilder().setServiceId("x")).build();
        Endpoint threeBytes = Endpoint.newBuilder().setAddress(ByteString.copyFrom(new byte[3])).setPort(1).build();
        Scripted scripted = new Scripted(List.of(welcome,
                datagram(threeBytes, ep(NAT_T), "bad address"),
                datagram(null, ep(NAT_T), "no peer"),
                datagram(ep(new InetSocketAddress(PEER_1.getAddress(), 0)), ep(NAT_T), "port 0"),
                datagram(ep(PEER_1), ep(NAT_T), ""),
                datagram(ep(PEER_1), ep(new InetSocketAddress(OUTER, 4501)), "not our port"),
                datagram(ep(new InetSocketAddress("2001:db8::1", 500)), ep(NAT_T), "v6 peer, v4 socket"),
                welcome,
                RelayFrame.newBuilder().setHello(RelayHello.getDefaultInstance()).build(),
                RelayFrame.getDefaultInstance(),
                datagram(ep(PEER_1), ep(NAT_T), "good")));
        serve(scripted);
        IkeRelayClient[] w = new IkeRelayClient[1];
        worker("w1", w);
        await(() -> w[0].answered() == 1, "the good one sent");
        assertThat(sentToPeers).containsExactly(new Seen("w1", 4500, PEER_1, "good"));
        assertThat(w[0].drops(Drop.MALFORMED)).isEqualTo(4);
        assertThat(w[0].drops(Drop.UNKNOWN_LOCAL)).isEqualTo(1);
        assertThat(w[0].drops(Drop.FAMILY_MISMATCH)).isEqualTo(1);
        assertThat(w[0].drops(Drop.UNEXPECTED_FRAME)).isEqualTo(3);
        RelayHello hello = scripted.got.poll(5, TimeUnit.SECONDS).getHello();
        assertThat(hello.getWorkerId()).isEqualTo("w1");
        assertThat(hello.getLocalList()).containsExactlyInAnyOrder(ep(NAT_T), ep(IKE));
    }

    /** Opens a raw stream to the service; returns the frames and the end it got. */
    private static final class RawWorker implements StreamObserver<RelayFrame> {
        final LinkedBlockingQueue<RelayFrame> frames = new LinkedBlockingQueue<>();
        volatile Status ended;
        StreamObserver<RelayFrame> out;

        @Override
        public void onNext(RelayFrame f) {
            frames.add(f);
        }

        @Override
        public void onError(Throwable t) {
            ended = Status.fromThrowable(t);
        }

        @Override
        public void onCompleted() {
            ended = Status.OK;
        }
    }

    private RawWorker raw() {
        ManagedChannel ch = InProcessChannelBuilder.forName(name).build();
        closing.add(ch::shutdownNow);
        RawWorker r = new RawWorker();
        r.out = IkeRelayGrpc.newStub(ch).relay(r);
        return r;
    }

    @Test
    void theServiceRefusesABadHelloByNameAndCountsBadDatagrams() throws Exception {
        IkeRelayService relay = service();

        RawWorker noHello = raw();
        noHello.out.onNext(datagram(ep(PEER_1), ep(NAT_T), "before hello"));
        await(() -> noHello.ended != null, "refused");
        assertThat(noHello.ended.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(noHello.ended.getDescription()).contains("first frame must be a hello");

        RawWorker foreign = raw();
        foreign.out.onNext(RelayFrame.newBuilder().setHello(RelayHello.newBuilder().setWorkerId("w9")
                .addLocal(ep(NAT_T)).addLocal(ep(new InetSocketAddress("192.0.2.99", 4500)))).build());
        await(() -> foreign.ended != null, "refused");
        assertThat(foreign.ended.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(foreign.ended.getDescription()).startsWith("hello.local[1]: 192.0.2.99:4500 is not an endpoint");

        RawWorker anonymous = raw();
        anonymous.out.onNext(RelayFrame.newBuilder().setHello(RelayHello.newBuilder().addLocal(ep(NAT_T))).build());
        await(() -> anonymous.ended != null, "refused");
        assertThat(anonymous.ended.getDescription()).startsWith("hello.worker_id");
        assertThat(relay.workers()).isZero();

        RawWorker good = raw();
        good.out.onNext(RelayFrame.newBuilder().setHello(RelayHello.newBuilder().setWorkerId("w1")
                .addLocal(ep(NAT_T))).build());
        assertThat(good.frames.poll(5, TimeUnit.SECONDS).getWelcome().getServiceId()).isEqualTo("ike1");
        good.out.onNext(datagram(null, ep(NAT_T), "no peer"));
        good.out.onNext(datagram(ep(PEER_1), ep(NAT_T), ""));
        good.out.onNext(datagram(ep(PEER_1), ep(IKE), "port 500 not in its hello"));
        good.out.onNext(datagram(ep(new InetSocketAddress("2001:db8::1", 500)), ep(NAT_T), "v6 from v4"));
        good.out.onNext(RelayFrame.newBuilder().setWelcome(RelayWelcome.getDefaultInstance()).build());
        good.out.onNext(datagram(ep(PEER_1), ep(NAT_T), "good"));
        await(() -> relay.received() == 1 && !atEngine.isEmpty(), "the good one received"); // counted before it is handed on
        assertThat(atEngine).containsExactly(new Seen("engine", 4500, PEER_1, "good"));
        assertThat(relay.drops(IkeRelayService.Drop.MALFORMED)).isEqualTo(2);
        assertThat(relay.drops(IkeRelayService.Drop.UNKNOWN_LOCAL)).isEqualTo(1);
        assertThat(relay.drops(IkeRelayService.Drop.FAMILY_MISMATCH)).isEqualTo(1);
        assertThat(relay.drops(IkeRelayService.Drop.UNEXPECTED_FRAME)).isEqualTo(1);
        // the worker owns only 4500: an answer that must leave from 500 has no worker
        relay.send(500, PEER_1, "from 500".getBytes());
        assertThat(relay.drops(IkeRelayService.Drop.NO_WORKER)).isEqualTo(1);
        good.out.onCompleted();
        await(() -> relay.workers() == 0, "detached");
    }

    /**
     * Install before use across the relay: ike-service asks the worker of the SA's node whether a
     * pair is usable in its data plane, and the answer (or its absence) ends the wait.
     */
    @Test
    void ikeServiceWaitsForTheOwnersWorkerToHoldAPair() throws Exception {
        IkeRelayService relay = service();
        IkeRelayClient[] w = new IkeRelayClient[1];
        worker("w1", w);
        await(w[0]::attached, "attached");
        List<String> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicReference<java.util.function.Consumer<Boolean>> later =
                new java.util.concurrent.atomic.AtomicReference<>();
        w[0].usableProbe((in, out, timeout, answer) -> {
            asked.add(in + "/" + out + "/" + timeout);
            if (in.equals("in-slow")) {
                later.set(answer);
            } else {
                answer.accept(in.equals("in-ok"));
            }
        });

        assertThat(relay.awaitUsable("w1", "in-ok", "out-ok", 5_000).toCompletableFuture().get(10, TimeUnit.SECONDS))
                .isTrue();
        assertThat(relay.awaitUsable("w1", "in-no", "out-no", 5_000).toCompletableFuture().get(10, TimeUnit.SECONDS))
                .isFalse();
        java.util.concurrent.CompletableFuture<Boolean> slow = relay.awaitUsable("w1", "in-slow", "out-slow", 5_000)
                .toCompletableFuture();
        await(() -> later.get() != null, "the slow question at the worker");
        assertThat(slow).as("waits for the worker's answer").isNotDone();
        later.get().accept(true);
        assertThat(slow.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(asked).containsExactly("in-ok/out-ok/5000", "in-no/out-no/5000", "in-slow/out-slow/5000");

        assertThat(relay.awaitUsable("w9", "in-x", "out-x", 5_000).toCompletableFuture().get(1, TimeUnit.SECONDS))
                .as("no worker of that node: nothing to wait for").isFalse();
        // An answer nobody waits for (late, or never asked) is counted, nothing else.
        long before = relay.drops(IkeRelayService.Drop.UNEXPECTED_FRAME);
        later.get().accept(true);
        await(() -> relay.drops(IkeRelayService.Drop.UNEXPECTED_FRAME) == before + 1, "the stray answer counted");
        // A worker that never answers: the wait ends a second after the worker's own bound.
        w[0].usableProbe((in, out, timeout, answer) -> { });
        long t0 = System.nanoTime();
        assertThat(relay.awaitUsable("w1", "in-mute", "out-mute", 100).toCompletableFuture().get(10, TimeUnit.SECONDS))
                .isFalse();
        assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(1_000L, 5_000L);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(5);
        }
    }
}
