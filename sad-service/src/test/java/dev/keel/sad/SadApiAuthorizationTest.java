package dev.keel.sad;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proto.v1.AllocateSpiRequest;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.InstallChildSasRequest;
import dev.keel.proto.v1.LeaseSequenceRequest;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.rpc.TestPki;
import dev.keel.sad.grpc.SadApiRoles;
import dev.keel.sad.grpc.SadApiRoles.Role;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * sad-service's gRPC API over real mutual TLS on loopback (Netty; certificates from Bouncy
 * Castle), wired as {@link SadMain} wires it: who gets through the handshake, which role may call
 * what ({@link SadApiRoles}), and that a refused call leaves the SAD unchanged.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SadApiAuthorizationTest {

    private Path dir;
    private TestPki.Issued ca;
    private SadNode node;
    private final List<ManagedChannel> channels = new ArrayList<>();

    private TestPki.Issued ike;
    private TestPki.Issued dataPlane;
    private TestPki.Issued reader;
    private TestPki.Issued admin;
    private TestPki.Issued stranger;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("keel-sad-authz");
        ca = TestPki.ca(dir, "keel-test-ca");
        TestPki.Issued server = TestPki.leaf(dir, ca, "sad.keel.test", "localhost");
        ike = TestPki.leaf(dir, ca, "ike-a", "ike-a.keel.test");
        dataPlane = TestPki.leaf(dir, ca, "esp-a", "spiffe://keel.test/esp/a");
        reader = TestPki.leaf(dir, ca, "keelctl");
        admin = TestPki.leaf(dir, ca, "ops");
        stranger = TestPki.leaf(dir, ca, "someone-else", "someone.keel.test");
        // Each role named by another kind of identity: DNS SAN, URI SAN, CN, subject DN.
        String[] args = {"--tls-cert", server.certPem().toString(), "--tls-key=" + server.keyPem(),
                "--tls-client-ca", ca.certPem().toString(), "--ike", "IKE-A.keel.test,ike-b.keel.test",
                "--data-plane", "spiffe://keel.test/esp/a", "--reader=keelctl",
                "--admin", admin.cert().getSubjectX500Principal().getName().replace(",", ", ")};
        List<String> rest = new ArrayList<>();
        SadMain.ApiSecurity security = SadMain.ApiSecurity.parse(args, rest);
        assertThat(rest).isEmpty();
        int hz = TestSupport.freePort();
        SadConfig config = TestSupport.config("n1", TestSupport.uniqueCluster(), TestSupport.kekFile(dir), hz,
                List.of(hz)).build();
        node = SadNode.start(config, security.serverBuilder(new InetSocketAddress("127.0.0.1", 0)));
    }

    @AfterAll
    void stop() throws Exception {
        channels.forEach(ManagedChannel::shutdownNow);
        if (node != null) {
            node.close();
        }
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    /** A client trusting the test CA, presenting {@code client} (null: no certificate). */
    private ManagedChannel channel(TestPki.Issued client) throws Exception {
        TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder().trustManager(ca.certPem().toFile());
        if (client != null) {
            b.keyManager(client.certPem().toFile(), client.keyPem().toFile());
        }
        ChannelCredentials creds = b.build();
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", node.grpcPort(), creds)
                .overrideAuthority("localhost").build();
        channels.add(ch);
        return ch;
    }

    private SaServiceGrpc.SaServiceBlockingStub sad(TestPki.Issued client) throws Exception {
        return SaServiceGrpc.newBlockingStub(channel(client)).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    private static Status codeAndDescription(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
        return Status.OK;
    }

    /** Whether the SAD holds the SA, read from the Hazelcast map directly (not through the API under test). */
    private boolean exists(String id) {
        return node.cluster().childSas().containsKey(id);
    }

    @Test
    void everySaServiceMethodIsInTheTable() {
        assertThat(SadApiRoles.METHODS.missing(SaServiceGrpc.getServiceDescriptor())).isEmpty();
        assertThat(SadApiRoles.METHODS.rolesFor("keel.v1.SaService/NoSuchMethod")).isEmpty();
    }

    @Test
    void everyRequestThatCanAskForWrappedKeysIsGuarded() {
        for (var m : SaServiceGrpc.getServiceDescriptor().getMethods()) {
            var prototype = (com.google.protobuf.Message) ((io.grpc.MethodDescriptor.PrototypeMarshaller<?>)
                    m.getRequestMarshaller()).getMessagePrototype();
            boolean asks = prototype.getDescriptorForType().findFieldByName(SadApiRoles.WRAPPED_KEYS) != null;
            assertThat(SadApiRoles.METHODS.guardedFields(m.getFullMethodName())).as(m.getFullMethodName())
                    .hasSize(asks ? 1 : 0);
        }
    }

    @Test
    void wrappedKeysOnlyForTheRolesThatInstallOrRunSas() throws Exception {
        assertThat(sad(ike).installChildSa(TestSupport.gcmSa("authz-keys-1", 0x1011, Direction.DIRECTION_OUTBOUND)
                .build()).getChildSa().getId()).isEqualTo("authz-keys-1");
        GetChildSaRequest withKeys = GetChildSaRequest.newBuilder().setId("authz-keys-1").setIncludeWrappedKeys(true)
                .build();
        var rd = sad(reader);
        Status denied = codeAndDescription(() -> rd.getChildSa(withKeys));
        assertThat(denied.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(denied.getDescription()).contains("may not set include_wrapped_keys on keel.v1.SaService/GetChildSa",
                "needs role IKE or DATA_PLANE or ADMIN");
        assertThat(codeAndDescription(() -> rd.getIkeSa(dev.keel.proto.v1.GetIkeSaRequest.newBuilder()
                .setId("x").setIncludeWrappedKeys(true).build())).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        var watch = rd.watch(dev.keel.proto.v1.WatchRequest.newBuilder().setIncludeWrappedKeys(true).build());
        assertThat(codeAndDescription(watch::hasNext).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        // Without the field a reader reads the record, keyless.
        assertThat(sad(reader).getChildSa(GetChildSaRequest.newBuilder().setId("authz-keys-1").build()).getChildSa()
                .hasKeys()).isFalse();
        for (TestPki.Issued installer : List.of(ike, dataPlane, admin)) {
            assertThat(sad(installer).getChildSa(withKeys).getChildSa().hasKeys())
                    .as(installer.cert().getSubjectX500Principal().getName()).isTrue();
        }
    }

    @Test
    void dataPlaneMayNotInstallAndTheSadIsUnchanged() throws Exception {
        var dp = sad(dataPlane);
        InstallChildSaRequest request = TestSupport.gcmSa("authz-out-1", 0x1001, Direction.DIRECTION_OUTBOUND).build();
        Status denied = codeAndDescription(() -> dp.installChildSa(request));
        assertThat(denied.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(denied.getDescription()).contains("keel.v1.SaService/InstallChildSa", "IKE or ADMIN");
        assertThat(codeAndDescription(() -> dp.installChildSas(InstallChildSasRequest.newBuilder()
                .addItems(request).build())).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(codeAndDescription(() -> dp.allocateSpi(AllocateSpiRequest.getDefaultInstance())).getCode())
                .isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(exists("authz-out-1")).isFalse();
        assertThat(sad(admin).listChildSas(ListChildSasRequest.getDefaultInstance()).getChildSasList())
                .extracting(r -> r.getId()).doesNotContain("authz-out-1");

        // The same request from the IKE service is valid and installs; then the data plane leases.
        assertThat(sad(ike).installChildSa(request).getChildSa().getId()).isEqualTo("authz-out-1");
        assertThat(exists("authz-out-1")).isTrue();
        assertThat(dp.leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("authz-out-1").setCount(64).build())
                .getStart()).isEqualTo(1);
        // Moving an SA to another node is the operator's, not the data plane's.
        assertThat(codeAndDescription(() -> dp.claimOwnership(ClaimOwnershipRequest.newBuilder()
                .setSaId("authz-out-1").build())).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    }

    @Test
    void readerMayListButNotLease() throws Exception {
        assertThat(sad(ike).installChildSa(TestSupport.gcmSa("authz-out-2", 0x1002, Direction.DIRECTION_OUTBOUND)
                .build()).getChildSa().getLeaseHighWater()).isEqualTo(1);
        var rd = sad(reader);
        assertThat(rd.listChildSas(ListChildSasRequest.getDefaultInstance()).getChildSasList())
                .extracting(r -> r.getId()).contains("authz-out-2");
        assertThat(rd.getChildSa(GetChildSaRequest.newBuilder().setId("authz-out-2").build()).getChildSa().getId())
                .isEqualTo("authz-out-2");
        Status denied = codeAndDescription(() -> rd.leaseSequence(LeaseSequenceRequest.newBuilder()
                .setSaId("authz-out-2").setCount(1_000).build()));
        assertThat(denied.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(denied.getDescription()).contains("LeaseSequence", "DATA_PLANE or ADMIN");
        assertThat(codeAndDescription(() -> rd.installChildSa(TestSupport.gcmSa("authz-out-3", 0x1003,
                Direction.DIRECTION_OUTBOUND).build())).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        // Nothing was leased: the record's high-water mark did not move, and the first real lease starts at 1.
        assertThat(node.database().getChildSa("authz-out-2", false).getLeaseHighWater()).isEqualTo(1);
        assertThat(sad(dataPlane).leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("authz-out-2")
                .setCount(10).build()).getStart()).isEqualTo(1);
        assertThat(exists("authz-out-3")).isFalse();
    }

    @Test
    void clientWithoutCertificateOrFromAnotherCaFailsTheHandshake() throws Exception {
        var anonymous = sad(null);
        assertThat(codeAndDescription(() -> anonymous.installChildSa(TestSupport.gcmSa("authz-out-4", 0x1004,
                Direction.DIRECTION_OUTBOUND).build())).getCode())
                .isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);
        var anonymousHealth = HealthGrpc.newBlockingStub(channel(null)).withDeadlineAfter(20, TimeUnit.SECONDS);
        assertThat(codeAndDescription(() -> anonymousHealth.check(HealthCheckRequest.getDefaultInstance())).getCode())
                .isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);
        TestPki.Issued otherCa = TestPki.ca(dir, "other-ca");
        // The IKE service's names, but issued by a CA the server does not trust.
        TestPki.Issued forged = TestPki.leaf(dir, otherCa, "ike-a-forged", "ike-a.keel.test");
        var forgedIke = sad(forged);
        assertThat(codeAndDescription(() -> forgedIke.installChildSa(TestSupport.gcmSa("authz-out-4", 0x1004,
                Direction.DIRECTION_OUTBOUND).build())).getCode())
                .isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);
        assertThat(exists("authz-out-4")).isFalse();
    }

    @Test
    void healthAndReflectionWorkForAnyAuthenticatedClientOtherCallsDoNot() throws Exception {
        for (TestPki.Issued client : List.of(stranger, reader, dataPlane, ike, admin)) {
            ManagedChannel ch = channel(client);
            assertThat(HealthGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(SaServiceGrpc.SERVICE_NAME).build())
                    .getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
            assertThat(listServices(ch)).contains(SaServiceGrpc.SERVICE_NAME);
        }
        var st = sad(stranger);
        assertThat(codeAndDescription(() -> st.getChildSa(GetChildSaRequest.newBuilder().setId("x").build()))
                .getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(codeAndDescription(() -> st.listChildSas(ListChildSasRequest.getDefaultInstance())).getCode())
                .isEqualTo(Status.Code.PERMISSION_DENIED);
    }

    private static List<String> listServices(ManagedChannel ch) throws Exception {
        CompletableFuture<List<String>> names = new CompletableFuture<>();
        var requests = ServerReflectionGrpc.newStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
                .serverReflectionInfo(new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse r) {
                        names.complete(r.getListServicesResponse().getServiceList().stream()
                                .map(s -> s.getName()).toList());
                    }

                    @Override
                    public void onError(Throwable t) {
                        names.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        names.complete(List.of());
                    }
                });
        requests.onNext(ServerReflectionRequest.newBuilder().setListServices("*").build());
        requests.onCompleted();
        return names.get(20, TimeUnit.SECONDS);
    }

    @Test
    void adminMayDoEverythingTheOthersDo() throws Exception {
        var ad = sad(admin);
        assertThat(Integer.toUnsignedLong(ad.allocateSpi(AllocateSpiRequest.getDefaultInstance()).getSpi()))
                .isGreaterThan(255);
        assertThat(ad.installChildSa(TestSupport.gcmSa("authz-out-5", 0x1005, Direction.DIRECTION_OUTBOUND).build())
                .getChildSa().getId()).isEqualTo("authz-out-5");
        assertThat(ad.leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("authz-out-5").setCount(5).build())
                .getEnd()).isEqualTo(6);
        assertThat(ad.claimOwnership(ClaimOwnershipRequest.newBuilder().setSaId("authz-out-5").setNodeId("n1")
                .build()).getChildSa().getOwnerNodeId()).isEqualTo("n1");
    }
}
