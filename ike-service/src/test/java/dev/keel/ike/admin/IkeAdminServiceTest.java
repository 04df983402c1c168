package dev.keel.ike.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.config.IkeLifetime;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.TwoIkePeers;
import dev.keel.proto.v1.Algorithms;
import dev.keel.proto.v1.ChildSaInfo;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.IkeSaInfo;
import dev.keel.proto.v1.IkeSaState;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.InitiateRequest;
import dev.keel.proto.v1.IpsecMode;
import dev.keel.proto.v1.IpsecProtocol;
import dev.keel.proto.v1.ListIkeSasRequest;
import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.LogSubsystem;
import dev.keel.proto.v1.RekeyRequest;
import dev.keel.proto.v1.RekeyResponse;
import dev.keel.proto.v1.SetLogLevelsRequest;
import dev.keel.proto.v1.StatsRequest;
import dev.keel.proto.v1.StatsResponse;
import dev.keel.proto.v1.SubsystemLevel;
import dev.keel.proto.v1.TerminateRequest;
import dev.keel.proto.v1.TerminateResponse;
import dev.keel.proto.v1.WatchLogRequest;
import dev.keel.rpc.KeelLog;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * keel.v1.IkeService over two IKE engines in one process that talk to each other ({@link
 * TwoIkePeers}: alice initiates "to-bob", bob answers as "to-alice"), each served on its own
 * in-process gRPC server: what swanctl's verbs do, seen from both ends of real IKE SAs.
 */
class IkeAdminServiceTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";
    private static final ListIkeSasRequest ALL = ListIkeSasRequest.getDefaultInstance();

    private TwoIkePeers peers;
    private final List<Server> servers = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();
    private IkeServiceGrpc.IkeServiceBlockingStub alice;
    private IkeServiceGrpc.IkeServiceBlockingStub bob;

    @BeforeEach
    void start() throws Exception {
        peers = new TwoIkePeers();
        peers.configurePsk(IKE, IKE, ESP, ESP, "s3cret-s3cret", "s3cret-s3cret", "10.2.0.0/16", "10.2.0.0/16");
        // alice's data plane "counted" traffic: derived from the SPI, so the test sees which half went where
        ChildSaUsage traffic = connection -> java.util.concurrent.CompletableFuture.completedFuture(
                (spi, inbound) -> new ChildSaUsage.Traffic(inbound ? 1000 : 2000, inbound ? 10 : 20,
                        inbound ? 1_700_000_000_001L : 1_700_000_000_002L));
        alice = serve(new IkeAdminService(peers.alice, traffic, "", () -> 1, LogControl.NODE));
        bob = serve(new IkeAdminService(peers.bob, ChildSaUsage.NONE, "", () -> 1, LogControl.NODE));
    }

    @AfterEach
    void stop() throws Exception {
        channels.forEach(ManagedChannel::shutdownNow);
        servers.forEach(Server::shutdownNow);
        peers.close();
    }

    private IkeServiceGrpc.IkeServiceBlockingStub serve(IkeAdminService service) throws Exception {
        String name = InProcessServerBuilder.generateName();
        servers.add(InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start());
        ManagedChannel ch = InProcessChannelBuilder.forName(name).directExecutor().build();
        channels.add(ch);
        return IkeServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /** Every line of an Initiate, to its end (throws the status it ends with otherwise). */
    private static List<LogLine> initiate(IkeServiceGrpc.IkeServiceBlockingStub stub, InitiateRequest request) {
        List<LogLine> lines = new ArrayList<>();
        Iterator<LogLine> it = stub.initiate(request);
        while (it.hasNext()) {
            lines.add(it.next());
        }
        return lines;
    }

    private List<LogLine> up() {
        return initiate(alice, InitiateRequest.newBuilder().setConnection("to-bob").setChild("net").build());
    }

    private static IkeSaInfo only(IkeServiceGrpc.IkeServiceBlockingStub stub) {
        List<IkeSaInfo> all = stub.listIkeSas(ALL).getIkeSasList();
        assertThat(all).hasSize(1);
        return all.getFirst();
    }

    private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(20);
        }
    }

    private static Status.Code code(Runnable call) {
        try {
            call.run();
            return Status.Code.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
    }

    private static StatusRuntimeException failure(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            return e;
        }
        throw new AssertionError("the call succeeded");
    }

    @Test
    void initiateStreamsTheLinesOfTheAttemptAndEndsOk() {
        peers.reshape(c -> TwoIkePeers.withChild(c, "db", "10.3.0.0/16", "10.4.0.0/16"),
                c -> TwoIkePeers.withChild(c, "db", "10.4.0.0/16", "10.3.0.0/16"));
        List<LogLine> lines = initiate(alice, InitiateRequest.newBuilder().setConnection("to-bob").setChild("net")
                .setLevel(LogLevel.LOG_LEVEL_DEBUG).build());
        List<String> text = lines.stream().map(LogLine::getMessage).toList();
        assertThat(text.getFirst()).isEqualTo("initiating IKE_SA to-bob[1] to 192.0.2.2");
        assertThat(text).contains("establishing CHILD_SA net",
                "IKE_SA to-bob[1] established between 192.0.2.1[alice.example]...192.0.2.2[bob.example]",
                "CHILD_SA net{1} installed");
        assertThat(text).anySatisfy(t -> assertThat(t).startsWith("IKE_SA to-bob[1] SPIs ")
                .endsWith("_r, AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519"));
        assertThat(text).anySatisfy(t -> assertThat(t).matches(
                "CHILD_SA net\\{1} established with SPIs [0-9a-f]{8}_i [0-9a-f]{8}_o and TS 10\\.1\\.0\\.0/16 === 10\\.2\\.0\\.0/16"));
        assertThat(text.getLast()).isEqualTo("CHILD_SA net{1} installed");
        assertThat(lines).allSatisfy(l -> {
            assertThat(l.getConnection()).isEqualTo("to-bob");
            assertThat(l.getIkeSaUniqueId()).isEqualTo(1);
            assertThat(l.getTimeMillis()).isPositive();
        });

        // A second child rides on the IKE SA there is (CREATE_CHILD_SA); INFO leaves the DEBUG lines out.
        List<String> more = initiate(alice, InitiateRequest.newBuilder().setConnection("to-bob").setChild("db")
                .build()).stream().map(LogLine::getMessage).toList();
        assertThat(more).startsWith("IKE_SA to-bob[1] is established: CHILD_SA db by CREATE_CHILD_SA",
                "establishing CHILD_SA db").noneMatch(t -> t.contains("installed"));
        assertThat(more.getLast()).startsWith("CHILD_SA db{2} established with SPIs ");
        assertThat(only(alice).getChildrenList()).extracting(ChildSaInfo::getName).containsExactly("net", "db");
        assertThat(only(bob).getChildrenList()).extracting(ChildSaInfo::getName).containsExactly("net", "db");
    }

    @Test
    void listShowsBothSidesOfTheSaWithMatchingSpisAndAlgorithms() throws Exception {
        long before = System.currentTimeMillis();
        // swanctl's defaults, and reauth_time 8 h
        peers.reshape(c -> c.withLifetime(IkeLifetime.ofSeconds(14_400, 1_440, 1_440, 28_800)), c -> c);
        up();
        IkeSaInfo a = only(alice);
        IkeSaInfo b = only(bob);
        assertThat(a.getConnection()).isEqualTo("to-bob");
        assertThat(b.getConnection()).isEqualTo("to-alice");
        assertThat(a.getState()).isEqualTo(IkeSaState.IKE_SA_STATE_ESTABLISHED);
        assertThat(b.getState()).isEqualTo(IkeSaState.IKE_SA_STATE_ESTABLISHED);
        assertThat(a.getInitiator()).isTrue();
        assertThat(b.getInitiator()).isFalse();
        assertThat(a.getInitiatorSpi()).isNotZero().isEqualTo(b.getInitiatorSpi());
        assertThat(a.getResponderSpi()).isNotZero().isEqualTo(b.getResponderSpi());
        assertThat(a.getLocalId()).isEqualTo("alice.example").isEqualTo(b.getRemoteId());
        assertThat(a.getRemoteId()).isEqualTo("bob.example").isEqualTo(b.getLocalId());
        assertThat(InetAddress.getByAddress(a.getLocal().getAddress().toByteArray()).getHostAddress())
                .isEqualTo("192.0.2.1");
        assertThat(a.getLocal().getPort()).isEqualTo(500);
        assertThat(a.getRemote()).isEqualTo(b.getLocal());
        assertThat(a.getAlgorithms()).isEqualTo(Algorithms.newBuilder().setEncryption("AES_GCM_16")
                .setEncryptionKeyBits(256).setPrf("PRF_HMAC_SHA2_256").setKeyExchange("CURVE_25519").build())
                .isEqualTo(b.getAlgorithms());
        assertThat(a.getEstablishedMillis()).isBetween(before, System.currentTimeMillis());
        assertThat(a.getNextRequestMessageId()).as("IKE_SA_INIT and IKE_AUTH were ids 0 and 1").isEqualTo(2)
                .isEqualTo(b.getExpectedRequestMessageId());
        assertThat(a.getNatLocal() || a.getNatRemote()).isFalse();
        assertThat(a.getRekeyMillis()).as("rekey_time 4 h, up to rand_time (24 min) early")
                .isBetween(a.getEstablishedMillis() + 14_400_000 - 1_440_000, a.getEstablishedMillis() + 14_400_000);
        assertThat(b.getRekeyMillis()).as("bob's connection has no rekey_time").isZero();
        assertThat(a.getReauthMillis()).as("reauth_time 8 h, up to rand_time (24 min) early")
                .isBetween(a.getEstablishedMillis() + 28_800_000 - 1_440_000, a.getEstablishedMillis() + 28_800_000);
        assertThat(b.getReauthMillis()).as("bob's connection has no reauth_time").isZero();

        ChildSaInfo ca = a.getChildren(0);
        ChildSaInfo cb = b.getChildren(0);
        assertThat(a.getChildrenCount()).isEqualTo(1);
        assertThat(ca.getName()).isEqualTo("net").isEqualTo(cb.getName());
        assertThat(ca.getUniqueId()).isEqualTo(1);
        assertThat(ca.getState()).isEqualTo(ChildSaState.CHILD_SA_STATE_ACTIVE);
        assertThat(ca.getProtocol()).isEqualTo(IpsecProtocol.IPSEC_PROTOCOL_ESP);
        assertThat(ca.getMode()).isEqualTo(IpsecMode.IPSEC_MODE_TUNNEL);
        assertThat(ca.getSpiIn()).isNotZero().isEqualTo(cb.getSpiOut());
        assertThat(ca.getSpiOut()).isNotZero().isEqualTo(cb.getSpiIn());
        assertThat(ca.getAlgorithms()).isEqualTo(Algorithms.newBuilder().setEncryption("AES_GCM_16")
                .setEncryptionKeyBits(256).build()).isEqualTo(cb.getAlgorithms());
        assertThat(ca.getLocalTsList()).isEqualTo(cb.getRemoteTsList());
        assertThat(ca.getRemoteTsList()).isEqualTo(cb.getLocalTsList());
        assertThat(ca.getInstalledMillis()).isBetween(before, System.currentTimeMillis());
        assertThat(ca.getRekeyMillis()).as("rekey_time 1 h, up to a tenth early")
                .isBetween(ca.getInstalledMillis() + 54 * 60_000, ca.getInstalledMillis() + 60 * 60_000);
        assertThat(ca.getExpireMillis()).as("life_time 66 min").isBetween(ca.getInstalledMillis() + 66 * 60_000,
                ca.getInstalledMillis() + 66 * 60_000 + 1_000);
        // traffic from the data plane's counts: inbound and outbound each in their place
        assertThat(List.of(ca.getBytesIn(), ca.getPacketsIn(), ca.getLastInMillis()))
                .containsExactly(1000L, 10L, 1_700_000_000_001L);
        assertThat(List.of(ca.getBytesOut(), ca.getPacketsOut(), ca.getLastOutMillis()))
                .containsExactly(2000L, 20L, 1_700_000_000_002L);

        assertThat(alice.listIkeSas(ListIkeSasRequest.newBuilder().setConnection("to-bob").build()).getIkeSasCount())
                .isEqualTo(1);
        assertThat(alice.listIkeSas(ListIkeSasRequest.newBuilder().setUniqueId(a.getUniqueId()).build())
                .getIkeSas(0)).isEqualTo(a);
        assertThat(failure(() -> alice.listIkeSas(ListIkeSasRequest.newBuilder().setUniqueId(42).build())).getStatus())
                .extracting(Status::getCode, Status::getDescription)
                .containsExactly(Status.Code.NOT_FOUND, "unique_id: no IKE SA #42");
        assertThat(failure(() -> alice.listIkeSas(ListIkeSasRequest.newBuilder().setConnection("nope").build()))
                .getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void terminateSendsTheDeleteAndBothSidesLoseTheSa() throws Exception {
        up();
        IkeSaInfo a = only(alice);
        TerminateResponse r = alice.terminate(TerminateRequest.newBuilder().setIkeUniqueId(a.getUniqueId()).build());
        assertThat(r.getIkeSasList()).containsExactly(a.getUniqueId());
        assertThat(r.getChildSasList()).containsExactly(a.getChildren(0).getUniqueId());
        assertThat(alice.listIkeSas(ALL).getIkeSasList()).isEmpty();
        eventually("bob deleted the IKE SA the peer deleted", () -> bob.listIkeSas(ALL).getIkeSasCount() == 0);
    }

    @Test
    void terminateOfAChildLeavesItsIkeSa() throws Exception {
        up();
        IkeSaInfo b = only(bob);
        TerminateResponse r = bob.terminate(TerminateRequest.newBuilder().setChild("net").build());
        assertThat(r.getIkeSasList()).isEmpty();
        assertThat(r.getChildSasList()).containsExactly(b.getChildren(0).getUniqueId());
        assertThat(only(bob).getChildrenList()).isEmpty();
        eventually("alice deleted the CHILD SA", () -> only(alice).getChildrenCount() == 0);
        assertThat(only(alice).getState()).isEqualTo(IkeSaState.IKE_SA_STATE_ESTABLISHED);
        assertThat(failure(() -> bob.terminate(TerminateRequest.newBuilder().setChild("net").build())).getStatus()
                .getCode()).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void rekeyReplacesTheSpisOnBothSides() throws Exception {
        up();
        IkeSaInfo a = only(alice);
        ChildSaInfo child = a.getChildren(0);
        RekeyResponse r = alice.rekey(RekeyRequest.newBuilder().setChildUniqueId(child.getUniqueId()).build());
        assertThat(r.getIkeSasList()).isEmpty();
        assertThat(r.getChildSasList()).hasSize(1);
        long fresh = r.getChildSas(0);
        assertThat(fresh).isGreaterThan(child.getUniqueId());
        eventually("the old CHILD SA deleted on both sides", () -> only(alice).getChildrenCount() == 1
                && only(bob).getChildrenCount() == 1);
        ChildSaInfo ca = only(alice).getChildren(0);
        assertThat(ca.getUniqueId()).isEqualTo(fresh);
        assertThat(ca.getSpiIn()).isNotEqualTo(child.getSpiIn());
        assertThat(ca.getSpiOut()).isNotEqualTo(child.getSpiOut());
        assertThat(only(bob).getChildren(0).getSpiOut()).isEqualTo(ca.getSpiIn());
        assertThat(only(bob).getChildren(0).getSpiIn()).isEqualTo(ca.getSpiOut());

        // The IKE SA: a new one with new SPIs on both sides, the CHILD SA moved over with its id (RFC 7296 §2.18).
        RekeyResponse ike = bob.rekey(RekeyRequest.newBuilder().setIke("to-alice").build());
        assertThat(ike.getIkeSasList()).hasSize(1);
        eventually("the old IKE SA deleted on both sides", () -> alice.listIkeSas(ALL).getIkeSasCount() == 1
                && bob.listIkeSas(ALL).getIkeSasCount() == 1);
        IkeSaInfo nb = only(bob);
        IkeSaInfo na = only(alice);
        assertThat(nb.getUniqueId()).isEqualTo(ike.getIkeSas(0));
        assertThat(nb.getInitiator()).as("the rekey's initiator is the new SA's").isTrue();
        assertThat(na.getInitiatorSpi()).isEqualTo(nb.getInitiatorSpi()).isNotEqualTo(a.getInitiatorSpi());
        assertThat(na.getResponderSpi()).isEqualTo(nb.getResponderSpi()).isNotEqualTo(a.getResponderSpi());
        assertThat(na.getUniqueId()).isGreaterThan(a.getUniqueId());
        assertThat(na.getChildren(0).getUniqueId()).isEqualTo(fresh);
    }

    /** Make-before-break, as reauth_time does: the new IKE SA is up before the old one goes (RFC 7296 §2.8.3). */
    @Test
    void reauthenticationMakesANewIkeSaWithTheSameChildren() throws Exception {
        up();
        IkeSaInfo a = only(alice);
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        RekeyResponse r;
        try (AutoCloseable watching = peers.alice.observe(new IkeEvents() {
            @Override
            public void ikeEstablished(IkeSa sa) {
                order.add("up " + sa.uniqueId());
            }

            @Override
            public void ikeDestroyed(IkeSa sa, String reason) {
                order.add("gone " + sa.uniqueId());
            }
        })) {
            r = alice.rekey(RekeyRequest.newBuilder().setIkeUniqueId(a.getUniqueId()).setReauth(true).build());
            eventually("the old IKE SA gone", () -> order.contains("gone " + a.getUniqueId()));
        }
        assertThat(order).as("the new IKE SA up before the old one went")
                .containsSubsequence("up " + r.getIkeSas(0), "gone " + a.getUniqueId());
        assertThat(r.getIkeSasList()).hasSize(1);
        assertThat(r.getChildSasList()).hasSize(1);
        IkeSaInfo na = only(alice);
        assertThat(na.getUniqueId()).isEqualTo(r.getIkeSas(0)).isNotEqualTo(a.getUniqueId());
        assertThat(na.getInitiatorSpi()).isNotEqualTo(a.getInitiatorSpi());
        assertThat(na.getChildrenList()).extracting(ChildSaInfo::getName, ChildSaInfo::getUniqueId)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("net", r.getChildSas(0)));
        eventually("bob has only the new IKE SA", () -> bob.listIkeSas(ALL).getIkeSasList().stream()
                .map(IkeSaInfo::getInitiatorSpi).toList().equals(List.of(na.getInitiatorSpi())));
    }

    @Test
    void watchedLogLinesNameTheConnectionAndTheIkeSaTheyAreAbout() {
        up();
        IkeAdminService service = new IkeAdminService(peers.alice, ChildSaUsage.NONE, "", () -> 1, LogControl.NODE);
        IkeSaInfo a = only(alice);
        // the IKE SA as the engine's own lines print it (IkeSa.toString)
        String sa = peers.alice.ikeSas().iterator().next().toString();
        assertThat(sa).startsWith("IKE_SA[to-bob ");
        LogLine line = service.aboutSa(LogLine.newBuilder().setMessage(sa + " established with /192.0.2.2:500").build());
        assertThat(line.getConnection()).isEqualTo("to-bob");
        assertThat(line.getIkeSaUniqueId()).isEqualTo(a.getUniqueId());
        LogLine gone = service.aboutSa(LogLine.newBuilder()
                .setMessage("IKE_SA[to-bob 0123456789abcdef_i 0000000000000001_r] destroyed").build());
        assertThat(gone.getConnection()).isEqualTo("to-bob");
        assertThat(gone.getIkeSaUniqueId()).as("not alive here: no id").isZero();
        LogLine other = LogLine.newBuilder().setMessage("loaded configuration revision 3").build();
        assertThat(service.aboutSa(other)).isSameAs(other);
    }

    @Test
    void statsCountTheSasAndTheEnginesOutcomes() {
        StatsResponse empty = alice.stats(StatsRequest.getDefaultInstance());
        assertThat(empty.getIkeSas()).isZero();
        assertThat(empty.getChildSas()).isZero();
        assertThat(empty.getVersion()).isNotEmpty().isNotEqualTo("unknown");
        assertThat(empty.getStartedMillis()).isPositive().isLessThanOrEqualTo(System.currentTimeMillis());
        assertThat(empty.getClusterMembers()).isEqualTo(1);
        // the metrics endpoint's series names without keel_ (IkeMetrics)
        assertThat(empty.getCountersMap()).containsEntry("ike_sa_established_total", 0L)
                .containsEntry("ike_drops_total{reason=\"no_sa\"}", 0L)
                .containsEntry("ike_exchanges_total{exchange=\"IKE_SA_INIT\",role=\"initiator\"}", 0L);
        up();
        StatsResponse a = alice.stats(StatsRequest.getDefaultInstance());
        assertThat(a.getIkeSas()).isEqualTo(1);
        assertThat(a.getChildSas()).isEqualTo(1);
        assertThat(a.getHalfOpenIkeSas()).isZero();
        assertThat(a.getCountersMap()).containsEntry("ike_sa_established_total", 1L)
                .containsEntry("ike_child_sa_established_total", 1L).containsEntry("ike_sa_failed_total", 0L)
                .containsEntry("ike_exchanges_total{exchange=\"IKE_SA_INIT\",role=\"initiator\"}", 1L);
        // the names are the metrics endpoint's: every counter Stats gives is a series of the scrape
        io.micrometer.prometheusmetrics.PrometheusMeterRegistry prometheus =
                new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
                        io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
        new dev.keel.ike.metrics.IkeMetrics(prometheus).bind(peers.alice);
        List<String> scraped = prometheus.scrape().lines().filter(l -> !l.startsWith("#")).toList();
        StatsResponse again = alice.stats(StatsRequest.getDefaultInstance());
        again.getCountersMap().forEach((name, value) -> assertThat(scraped).as(name)
                .contains("keel_" + name + " " + value.doubleValue()));
        assertThat(again.getCountersCount()).isEqualTo(scraped.stream()
                .filter(l -> l.matches("keel_[a-z_]+_total[ {].*")).count());
        assertThat(bob.stats(StatsRequest.getDefaultInstance()).getCountersMap())
                .containsEntry("ike_sa_established_total", 1L)
                .containsEntry("ike_exchanges_total{exchange=\"IKE_SA_INIT\",role=\"responder\"}", 1L);
    }

    @Test
    void badRequestsGetAPreciseStatusNamingTheField() {
        assertThat(failure(() -> alice.terminate(TerminateRequest.getDefaultInstance())).getStatus())
                .satisfies(s -> assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT))
                .satisfies(s -> assertThat(s.getDescription()).startsWith("target: missing"));
        assertThat(failure(() -> alice.terminate(TerminateRequest.newBuilder().setIke("").build())).getStatus()
                .getDescription()).startsWith("ike: empty");
        assertThat(failure(() -> alice.rekey(RekeyRequest.newBuilder().setChildUniqueId(0).build())).getStatus())
                .satisfies(s -> assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT))
                .satisfies(s -> assertThat(s.getDescription()).startsWith("child_unique_id: 0 names no SA"));
        assertThat(failure(() -> alice.rekey(RekeyRequest.newBuilder().setChild("net").setReauth(true).build()))
                .getStatus().getDescription()).startsWith("reauth: IKE SAs only");
        assertThat(failure(() -> alice.terminate(TerminateRequest.newBuilder().setIke("nope").build())).getStatus())
                .satisfies(s -> assertThat(s.getCode()).isEqualTo(Status.Code.NOT_FOUND))
                .satisfies(s -> assertThat(s.getDescription()).isEqualTo("ike: no IKE SA of connection 'nope' (no such"
                        + " connection)"));
        assertThat(failure(() -> alice.terminate(TerminateRequest.newBuilder().setIke("to-bob").build())).getStatus()
                .getDescription()).isEqualTo("ike: no IKE SA of connection 'to-bob'");
        assertThat(code(() -> alice.terminate(TerminateRequest.newBuilder().setIkeUniqueId(99).build())))
                .isEqualTo(Status.Code.NOT_FOUND);
        assertThat(code(() -> alice.rekey(RekeyRequest.newBuilder().setChildUniqueId(99).build())))
                .isEqualTo(Status.Code.NOT_FOUND);
        assertThat(failure(() -> initiate(alice, InitiateRequest.getDefaultInstance())).getStatus())
                .satisfies(s -> assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT))
                .satisfies(s -> assertThat(s.getDescription()).startsWith("connection: missing"));
        assertThat(failure(() -> initiate(alice, InitiateRequest.newBuilder().setConnection("nope").build()))
                .getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(failure(() -> initiate(alice, InitiateRequest.newBuilder().setConnection("to-bob").setChild("nope")
                .build())).getStatus().getDescription()).isEqualTo("child: connection 'to-bob' has no child 'nope'");
        assertThat(failure(() -> initiate(alice, InitiateRequest.newBuilder().setConnection("to-bob")
                .setLevelValue(17).build())).getStatus().getDescription()).startsWith("level: 17");
        // a responder-only connection (no remote address) cannot be initiated
        peers.reshape(c -> c, c -> new IkeConnection(c.name(), c.localAddrs(), List.of(), c.remotePort(), c.localId(),
                c.remoteId(), c.auth(), c.proposals(), c.encap(), c.dpdDelay(), c.children()));
        assertThat(failure(() -> initiate(bob, InitiateRequest.newBuilder().setConnection("to-alice").build()))
                .getStatus()).satisfies(s -> assertThat(s.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION))
                .satisfies(s -> assertThat(s.getDescription()).contains("has no remote address"));
    }

    @Test
    void anUnansweredInitiationEndsUnavailableAndItsSaIsNoRekeyTargetMeanwhile() throws Exception {
        peers.dropToBob = d -> true;
        var stub = IkeServiceGrpc.newStub(channels.getFirst());
        java.util.concurrent.CompletableFuture<Status> end = new java.util.concurrent.CompletableFuture<>();
        List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
        stub.initiate(InitiateRequest.newBuilder().setConnection("to-bob").build(), new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(LogLine l) {
                lines.add(l.getMessage());
            }

            @Override
            public void onError(Throwable t) {
                end.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                end.complete(Status.OK);
            }
        });
        eventually("the IKE SA is connecting", () -> alice.listIkeSas(ALL).getIkeSasCount() == 1);
        IkeSaInfo connecting = only(alice);
        assertThat(connecting.getState()).isEqualTo(IkeSaState.IKE_SA_STATE_CONNECTING);
        assertThat(failure(() -> alice.rekey(RekeyRequest.newBuilder().setIkeUniqueId(connecting.getUniqueId())
                .build())).getStatus()).satisfies(s -> assertThat(s.getCode())
                .isEqualTo(Status.Code.FAILED_PRECONDITION))
                .satisfies(s -> assertThat(s.getDescription()).isEqualTo("IKE SA to-bob[1] is CONNECTING: only an"
                        + " established IKE SA is rekeyed"));
        Status status = end.get(20, TimeUnit.SECONDS);
        assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(status.getDescription()).isEqualTo("peer unreachable: IKE_SA_INIT request 0 unanswered after 4 sends");
        assertThat(lines).contains("peer unreachable: IKE_SA_INIT request 0 unanswered after 4 sends");
    }

    @Test
    void aFailedAuthenticationEndsPermissionDeniedAndTheTimeoutDeadlineExceeded() {
        peers.configurePsk(IKE, IKE, ESP, ESP, "s3cret-s3cret", "another-s3cret", "10.2.0.0/16", "10.2.0.0/16");
        StatusRuntimeException denied = failure(this::up);
        assertThat(denied.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(denied.getStatus().getDescription()).startsWith("peer answered IKE_AUTH with AUTHENTICATION_FAILED");

        peers.dropToBob = d -> true;
        StatusRuntimeException late = failure(() -> initiate(alice, InitiateRequest.newBuilder()
                .setConnection("to-bob").setTimeoutMillis(300).build()));
        assertThat(late.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(late.getStatus().getDescription()).isEqualTo("no result within 300 ms; the initiation of 'to-bob'"
                + " goes on (see ListIkeSas)");
    }

    @Test
    void beforeTheEngineIsAttachedIkeCallsAreUnavailableWhileTheLogCallsReachTheLogSubsystems() throws Exception {
        IkeServiceGrpc.IkeServiceBlockingStub early = serve(new IkeAdminService("", () -> 1, LogControl.NODE));
        assertThat(failure(() -> early.listIkeSas(ALL)).getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(failure(() -> early.stats(StatsRequest.getDefaultInstance())).getStatus().getCode())
                .isEqualTo(Status.Code.UNAVAILABLE);
        // the node's log subsystems answer, engine or not (dev.keel.rpc.AdminLogs)
        assertThat(early.setLogLevels(SetLogLevelsRequest.getDefaultInstance()).getLevelsList())
                .extracting(SubsystemLevel::getSubsystem).containsExactlyElementsOf(KeelLog.SUBSYSTEMS);
        assertThat(failure(() -> early.setLogLevels(SetLogLevelsRequest.newBuilder()
                .addLevels(SubsystemLevel.newBuilder().setSubsystem(LogSubsystem.LOG_SUBSYSTEM_IKE)).build()))
                .getStatus().getCode()).as("a subsystem without a level").isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(failure(() -> early.watchLog(WatchLogRequest.newBuilder().addSubsystemsValue(99).build()).hasNext())
                .getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    }
}
