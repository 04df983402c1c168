package dev.keel.ike.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.keel.core.net.IpAddress;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.message.IkeIdentity;
import dev.keel.ike.session.ConnectionDirectory;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.ClaimOwnershipResponse;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.GetChildSaResponse;
import dev.keel.proto.v1.GetIkeSaRequest;
import dev.keel.proto.v1.GetIkeSaResponse;
import dev.keel.proto.v1.IkeSaChild;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListChildSasResponse;
import dev.keel.proto.CoreMapping;
import dev.keel.core.ts.TrafficSelector;

/**
 * {@link SadSaClaimer} against a SAD that answers from a map and records every call: a flood of
 * made-up SPIs costs at most the gate's bound in look-ups; a peer's packet for an SA another node
 * owns claims the IKE SA and then its CHILD SAs, naming that owner; what is not this node's to
 * serve, or was claimed by a third node meanwhile, is refused without more calls.
 */
@Timeout(60)
class SadSaClaimerTest {

    private static final byte[] LOCAL = {(byte) 192, 0, 2, 1};
    private static final byte[] PEER = {(byte) 198, 51, 100, 7};
    private static final InetSocketAddress FROM_PEER = address(PEER, 4500);
    private static final long SPI_I = 0x1111_2222_3333_4444L;
    private static final long SPI_R = 0x5555_6666_7777_8888L;
    private static final String IKE_ID = IkeSaRecords.id(SPI_I, SPI_R);

    /** A SAD of a few records; counts calls and the most under way at once. */
    private static final class FakeSad extends SaServiceGrpc.SaServiceImplBase {
        final Map<Integer, ChildSaRecord> bySpi = new ConcurrentHashMap<>();
        final Map<String, IkeSaRecord> ikeSas = new ConcurrentHashMap<>();
        final List<String> claims = new CopyOnWriteArrayList<>();
        final AtomicInteger childLookups = new AtomicInteger();
        final AtomicInteger underWay = new AtomicInteger();
        final AtomicInteger mostUnderWay = new AtomicInteger();
        volatile long lookupMillis;
        volatile Status ikeClaimAnswer;
        volatile Status childClaimAnswer;

        @Override
        public void listChildSas(ListChildSasRequest req, StreamObserver<ListChildSasResponse> out) {
            out.onNext(ListChildSasResponse.newBuilder().addAllChildSas(bySpi.values().stream()
                    .filter(r -> req.getConnection().isEmpty() || r.getConnection().equals(req.getConnection()))
                    .toList()).build());
            out.onCompleted();
        }

        @Override
        public void getChildSa(GetChildSaRequest req, StreamObserver<GetChildSaResponse> out) {
            childLookups.incrementAndGet();
            mostUnderWay.accumulateAndGet(underWay.incrementAndGet(), Math::max);
            try {
                if (lookupMillis > 0) {
                    Thread.sleep(lookupMillis);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                underWay.decrementAndGet();
            }
            ChildSaRecord r = bySpi.get(req.getInboundSpi());
            if (r == null) {
                out.onError(Status.NOT_FOUND.asRuntimeException());
                return;
            }
            out.onNext(GetChildSaResponse.newBuilder().setChildSa(r).build());
            out.onCompleted();
        }

        @Override
        public void getIkeSa(GetIkeSaRequest req, StreamObserver<GetIkeSaResponse> out) {
            IkeSaRecord r = ikeSas.get(req.getId());
            if (r == null) {
                out.onError(Status.NOT_FOUND.asRuntimeException());
                return;
            }
            out.onNext(GetIkeSaResponse.newBuilder().setIkeSa(r).build());
            out.onCompleted();
        }

        @Override
        public void claimOwnership(ClaimOwnershipRequest req, StreamObserver<ClaimOwnershipResponse> out) {
            claims.add((req.getIkeSaId().isEmpty() ? req.getSaId() : req.getIkeSaId()) + " by " + req.getNodeId()
                    + " from " + req.getExpectedOwnerNodeId());
            if (!req.getIkeSaId().isEmpty()) {
                if (ikeClaimAnswer != null) {
                    out.onError(ikeClaimAnswer.asRuntimeException());
                    return;
                }
                out.onNext(ClaimOwnershipResponse.newBuilder().setIkeSa(ikeSas.get(req.getIkeSaId()).toBuilder()
                        .setOwnerNodeId(req.getNodeId())).build());
            } else {
                if (childClaimAnswer != null) {
                    out.onError(childClaimAnswer.asRuntimeException());
                    return;
                }
                out.onNext(ClaimOwnershipResponse.getDefaultInstance());
            }
            out.onCompleted();
        }
    }

    private final FakeSad sad = new FakeSad();
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            c.close();
        }
    }

    private SadSaClaimer claimer(ClaimGate.Limits limits, String localAddrs) throws Exception {
        String name = InProcessServerBuilder.generateName();
        Server server = InProcessServerBuilder.forName(name).addService(sad).build().start();
        closing.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
        closing.add(channel::shutdownNow);
        ConnectionDirectory connections = new ConnectionDirectory();
        connections.replace(List.of(new IkeConnection("peer", localAddrs == null ? List.of()
                : List.of(dev.keel.core.net.IpRange.parse(localAddrs)), List.of(), 500, IkeIdentity.parse("ha.example"), null,
                new IkeConnection.Auth.Psk(new byte[16]), Proposal.parseList(Protocol.IKE, "aes256gcm16-prfsha256-x25519"),
                true, Duration.ZERO, List.of())));
        SadSaClaimer c = new SadSaClaimer(channel, "gwb", connections, new ClaimGate(limits));
        closing.add(c);
        return c;
    }

    /** gwa's pair with inbound SPI 0x0a0a0001, under the IKE SA record listing it. */
    private void peerSasOwnedBy(String owner) {
        ChildSaRecord in = ChildSaRecord.newBuilder().setId("child-gwa-0a0a0001-in").setConnection("peer")
                .setChild("net").addRemoteTs(CoreMapping.selector(TrafficSelector.parse("10.2.0.0/24")))
                .setIkeSaId(IKE_ID).setSpi(0x0a0a_0001).setDirection(Direction.DIRECTION_INBOUND)
                .setLocal(endpoint(LOCAL)).setPeer(endpoint(PEER)).setOwnerNodeId(owner)
                .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).build();
        sad.bySpi.put(in.getSpi(), in);
        sad.ikeSas.put(IKE_ID, IkeSaRecord.newBuilder().setId(IKE_ID).setConnection("peer").setInitiatorSpi(SPI_I)
                .setResponderSpi(SPI_R).setLocal(endpoint(LOCAL)).setPeer(endpoint(PEER)).setOwnerNodeId(owner)
                .addChildren(IkeSaChild.newBuilder().setInboundSaId("child-gwa-0a0a0001-in")
                        .setOutboundSaId("child-gwa-0a0a0001-out"))
                .build());
    }

    @Test
    void aFloodOfMadeUpSpisCostsAtMostTheBoundedLookUps() throws Exception {
        ClaimGate.Limits limits = new ClaimGate.Limits(Duration.ofSeconds(1), 16, 200, 32);
        SadSaClaimer c = claimer(limits, null);
        sad.lookupMillis = 5; // slow enough that the bound on look-ups under way is reached
        long start = System.nanoTime();
        long sent = flood(c, 4, Duration.ofMillis(1_500));
        await(() -> c.gate().outstanding() == 0, 10_000);
        double seconds = (System.nanoTime() - start) / 1e9;
        int lookups = sad.childLookups.get();
        System.out.printf("%d packets with random SPIs in %.2f s: %d SAD look-ups (bound %d), at most %d at once%n",
                sent, seconds, lookups, (int) (limits.burst() + limits.lookupsPerSecond() * seconds),
                sad.mostUnderWay.get());
        assertThat(lookups).isPositive();
        assertThat(lookups).as("look-ups: a burst, then the rate").isLessThanOrEqualTo(
                (int) (limits.burst() + limits.lookupsPerSecond() * seconds) + 1);
        assertThat(sad.mostUnderWay.get()).as("look-ups under way at once").isLessThanOrEqualTo(limits.outstanding());
        assertThat(c.lookups()).isEqualTo(lookups);
        assertThat(c.claimsNotFound()).isEqualTo(lookups);
        assertThat(c.claimsLimited()).isEqualTo(sent - lookups);
        assertThat(c.claimsMade()).isZero();
        assertThat(sad.claims).isEmpty();
    }

    @Test
    void oneSpiIsLookedUpOnceASecond() throws Exception {
        SadSaClaimer c = claimer(ClaimGate.Limits.DEFAULTS, null);
        for (int i = 0; i < 10_000; i++) {
            c.onUnknownEsp(0x0bad_0001, FROM_PEER);
        }
        await(() -> c.gate().outstanding() == 0, 10_000);
        assertThat(sad.childLookups.get()).isEqualTo(1);
        assertThat(c.claimsNotFound()).isEqualTo(1);
        assertThat(c.claimsLimited()).isEqualTo(9_999);
    }

    @Test
    void thePeersEspClaimsItsIkeSaThenItsChildSasFromTheOwner() throws Exception {
        peerSasOwnedBy("gwa");
        SadSaClaimer c = claimer(ClaimGate.Limits.DEFAULTS, "192.0.2.1");
        c.onUnknownEsp(0x0a0a_0001, FROM_PEER);
        await(() -> c.claimsMade() == 1, 10_000);
        assertThat(sad.claims).containsExactly(IKE_ID + " by gwb from gwa", "child-gwa-0a0a0001-in by gwb from gwa",
                "child-gwa-0a0a0001-out by gwb from gwa");
        assertThat(c.claimLatenciesMicros()).hasSize(1);
    }

    @Test
    void aWorkersReportClaimsBothChildSasForItsNodeAndLeavesTheIkeSaRecord() throws Exception {
        peerSasOwnedBy("sad-a");
        SadSaClaimer c = claimer(ClaimGate.Limits.DEFAULTS, "192.0.2.1");
        c.onUnknownEspAt("sad-b", 0x0a0a_0001, FROM_PEER);
        await(() -> c.claimsMade() == 1, 10_000);
        // ike-service runs the IKE SA whichever worker carries its CHILD SAs: its record is not claimed
        assertThat(sad.claims).containsExactly("child-gwa-0a0a0001-in by sad-b from sad-a",
                "child-gwa-0a0a0001-out by sad-b from sad-a");

        // the same worker again (its feed has not delivered yet): owned by it already, nothing more
        sad.bySpi.put(0x0a0a_0001, sad.bySpi.get(0x0a0a_0001).toBuilder().setOwnerNodeId("sad-b").build());
        c.onUnknownEspAt("sad-b", 0x0a0a_0001, FROM_PEER);
        Thread.sleep(1_100); // past the gate's one look-up per SPI a second
        c.onUnknownEspAt("sad-b", 0x0a0a_0001, FROM_PEER);
        await(() -> c.gate().outstanding() == 0 && c.lookups() == 2, 10_000);
        assertThat(sad.claims).hasSize(2);
        // and not from another sender than the SA's peer
        SadSaClaimer fresh = claimer(ClaimGate.Limits.DEFAULTS, null);
        fresh.onUnknownEspAt("sad-a", 0x0a0a_0001, address(new byte[] {(byte) 203, 0, 113, 9}, 4500));
        await(() -> fresh.claimsRefused() == 1, 10_000);
        assertThat(sad.claims).hasSize(2);
    }

    @Test
    void aWorkersOutboundMissClaimsTheLiveChildWhoseSelectorsTakeThePacketElseRunsTheFallback() throws Exception {
        peerSasOwnedBy("sad-a");
        SadSaClaimer c = claimer(ClaimGate.Limits.DEFAULTS, "192.0.2.1");
        AtomicInteger fallbacks = new AtomicInteger();
        // outside the child's remote selectors, another child, another connection: nothing to claim
        c.onAcquireAt("sad-b", "peer", "net", IpAddress.parse("10.9.0.1"), fallbacks::incrementAndGet);
        c.onAcquireAt("sad-b", "peer", "other", IpAddress.parse("10.2.0.7"), fallbacks::incrementAndGet);
        c.onAcquireAt("sad-b", "else", "net", IpAddress.parse("10.2.0.7"), fallbacks::incrementAndGet);
        await(() -> fallbacks.get() == 3, 10_000);
        assertThat(sad.claims).isEmpty();

        Thread.sleep(1_100); // past the gate's one look-up per worker and child a second
        c.onAcquireAt("sad-b", "peer", "net", IpAddress.parse("10.2.0.7"), fallbacks::incrementAndGet);
        await(() -> c.claimsMade() == 1, 10_000);
        assertThat(sad.claims).containsExactly("child-gwa-0a0a0001-in by sad-b from sad-a",
                "child-gwa-0a0a0001-out by sad-b from sad-a");
        assertThat(fallbacks).hasValue(3);

        // held by the asking worker already (its feed is about to install it): neither claim nor fallback
        sad.bySpi.put(0x0a0a_0001, sad.bySpi.get(0x0a0a_0001).toBuilder().setOwnerNodeId("sad-c").build());
        c.onAcquireAt("sad-c", "peer", "net", IpAddress.parse("10.2.0.7"), fallbacks::incrementAndGet);
        await(() -> c.gate().outstanding() == 0 && c.lookups() == 5, 10_000);
        assertThat(sad.claims).hasSize(2);
        assertThat(fallbacks).hasValue(3);
    }

    @Test
    void aWorkerThatLosesTheInboundRaceDoesNotTakeTheOutbound() throws Exception {
        peerSasOwnedBy("sad-a");
        sad.childClaimAnswer = Status.FAILED_PRECONDITION.withDescription("child SA is owned by live node 'sad-c'");
        SadSaClaimer c = claimer(ClaimGate.Limits.DEFAULTS, null);
        c.onUnknownEspAt("sad-b", 0x0a0a_0001, FROM_PEER);
        await(() -> c.claimsRefused() == 1, 10_000);
        assertThat(sad.claims).containsExactly("child-gwa-0a0a0001-in by sad-b from sad-a");
        assertThat(c.claimsMade()).isZero();
    }

    @Test
    void anIkeMessageClaimsTheSame() throws Exception {
        peerSasOwnedBy("gwa");
        SadSaClaimer c = claimer(ClaimGate.Limits.DEFAULTS, null);
        c.onUnknownIke(SPI_I, SPI_R, FROM_PEER);
        c.onUnknownIke(SPI_I, 0, FROM_PEER); // no responder SPI: nothing to look up
        await(() -> c.claimsMade() == 1, 10_000);
        assertThat(sad.claims).containsExactly(IKE_ID + " by gwb from gwa", "child-gwa-0a0a0001-in by gwb from gwa",
                "child-gwa-0a0a0001-out by gwb from gwa");
        assertThat(c.lookups()).isEqualTo(1);
    }

    @Test
    void whatIsNotThisNodesToServeIsNotClaimed() throws Exception {
        peerSasOwnedBy("gwa");
        SadSaClaimer other = claimer(ClaimGate.Limits.DEFAULTS, "192.0.2.99"); // the SA's local address is not ours
        other.onUnknownEsp(0x0a0a_0001, FROM_PEER);
        await(() -> other.claimsRefused() == 1, 10_000);
        SadSaClaimer c = claimer(ClaimGate.Limits.DEFAULTS, null);
        c.onUnknownEsp(0x0a0a_0001, address(new byte[] {(byte) 203, 0, 113, 9}, 4500)); // not from its peer
        await(() -> c.claimsRefused() == 1, 10_000);
        sad.bySpi.put(0x0a0a_0002, sad.bySpi.get(0x0a0a_0001).toBuilder().setSpi(0x0a0a_0002).setConnection("else").build());
        c.onUnknownEsp(0x0a0a_0002, FROM_PEER); // a connection this node does not have
        await(() -> c.claimsRefused() == 2, 10_000);
        peerSasOwnedBy("gwb");
        c.onUnknownIke(SPI_I, SPI_R, FROM_PEER); // ours already: its data plane or engine is about to have it
        await(() -> c.gate().outstanding() == 0 && c.lookups() == 3, 10_000);
        assertThat(c.claimsRefused()).isEqualTo(2);
        assertThat(sad.claims).isEmpty();
    }

    @Test
    void aClaimThatLostTheRaceMovesNothingElse() throws Exception {
        peerSasOwnedBy("gwa");
        sad.ikeClaimAnswer = Status.FAILED_PRECONDITION.withDescription("IKE SA is owned by live node 'gwc'");
        SadSaClaimer c = claimer(ClaimGate.Limits.DEFAULTS, null);
        c.onUnknownEsp(0x0a0a_0001, FROM_PEER);
        await(() -> c.claimsRefused() == 1, 10_000);
        assertThat(sad.claims).containsExactly(IKE_ID + " by gwb from gwa");
        assertThat(c.claimsMade()).isZero();
    }

    /** Sends packets with random SPIs from {@code threads} threads for {@code length}; how many were sent. */
    private static long flood(SadSaClaimer c, int threads, Duration length) throws InterruptedException {
        long end = System.nanoTime() + length.toNanos();
        AtomicInteger sent = new AtomicInteger();
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            SplittableRandom random = new SplittableRandom(t);
            all.add(Thread.ofPlatform().start(() -> {
                int n = 0;
                while (System.nanoTime() < end) {
                    c.onUnknownEsp(random.nextInt(), FROM_PEER);
                    n++;
                }
                sent.addAndGet(n);
            }));
        }
        for (Thread t : all) {
            t.join();
        }
        return sent.get();
    }

    private static Endpoint endpoint(byte[] address) {
        return Endpoint.newBuilder().setAddress(ByteString.copyFrom(address)).setPort(4500).build();
    }

    private static InetSocketAddress address(byte[] a, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(a), port);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void await(BooleanSupplier condition, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out");
            }
            Thread.sleep(5);
        }
    }
}
