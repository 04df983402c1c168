package dev.keel.ike.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.session.TwoIkePeers;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.InitiateRequest;
import dev.keel.proto.v1.ListIkeSasRequest;
import dev.keel.proto.v1.SetLogLevelsRequest;
import dev.keel.proto.v1.TerminateRequest;
import dev.keel.rpc.MutualTls;
import dev.keel.rpc.TestPki;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may call what on keel.v1.IkeService (DESIGN §5, ike.proto's header): a reader lists but cannot
 * terminate, an operator terminates but cannot change log levels, an admin may; a client with no
 * role only health-checks; without a certificate nothing. A refused call changes nothing.
 */
class IkeAdminAuthorizationTest {

    @TempDir
    Path dir;

    private TwoIkePeers peers;
    private Server server;
    private final List<ManagedChannel> channels = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        channels.forEach(ManagedChannel::shutdownNow);
        if (server != null) {
            server.shutdownNow();
        }
        if (peers != null) {
            peers.close();
        }
    }

    @Test
    void everyMethodHasARuleAndEachRoleHoldsTheRightsOfTheOnesBefore() {
        assertThat(IkeAdminRoles.METHODS.missing(IkeServiceGrpc.getServiceDescriptor())).isEmpty();
        for (MethodDescriptor<?, ?> m : IkeServiceGrpc.getServiceDescriptor().getMethods()) {
            Set<IkeAdminRoles.Role> roles = IkeAdminRoles.METHODS.rolesFor(m.getFullMethodName());
            assertThat(roles).as(m.getFullMethodName()).contains(IkeAdminRoles.Role.ADMIN);
            if (roles.contains(IkeAdminRoles.Role.READER)) {
                assertThat(roles).as(m.getFullMethodName()).contains(IkeAdminRoles.Role.OPERATOR);
            }
        }
        assertThat(roles(IkeServiceGrpc.getListIkeSasMethod())).contains(IkeAdminRoles.Role.READER);
        assertThat(roles(IkeServiceGrpc.getWatchLogMethod())).contains(IkeAdminRoles.Role.READER);
        assertThat(roles(IkeServiceGrpc.getTerminateMethod()))
                .containsExactlyInAnyOrder(IkeAdminRoles.Role.OPERATOR, IkeAdminRoles.Role.ADMIN);
        assertThat(roles(IkeServiceGrpc.getInitiateMethod())).doesNotContain(IkeAdminRoles.Role.READER);
        assertThat(roles(IkeServiceGrpc.getSetLogLevelsMethod())).containsExactly(IkeAdminRoles.Role.ADMIN);
    }

    private static Set<IkeAdminRoles.Role> roles(MethodDescriptor<?, ?> m) {
        return IkeAdminRoles.METHODS.rolesFor(m.getFullMethodName());
    }

    @Test
    void overMutualTlsAReaderListsAnOperatorTerminatesAndAnAdminSetsLevels() throws Exception {
        peers = new TwoIkePeers();
        peers.configurePsk("aes256gcm16-prfsha256-x25519", "aes256gcm16-prfsha256-x25519", "aes256gcm16",
                "aes256gcm16", "s3cret-s3cret", "s3cret-s3cret", "10.2.0.0/16", "10.2.0.0/16");
        long id = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS).uniqueId();
        TestPki.Issued ca = TestPki.ca(dir, "keel-admin-ca");
        TestPki.Issued serverCert = TestPki.leaf(dir, ca, "ike.keel.test", "localhost");
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
                        MutualTls.serverCredentials(serverCert.certPem(), serverCert.keyPem(), ca.certPem()))
                .intercept(IkeAdminRoles.authorization(Map.of(IkeAdminRoles.Role.READER, List.of("monitor"),
                        IkeAdminRoles.Role.OPERATOR, List.of("oncall.keel.test"), IkeAdminRoles.Role.ADMIN,
                        List.of("ops"))))
                .addService(new IkeAdminService(peers.alice, ChildSaUsage.NONE, "", () -> 1, LogControl.NODE))
                .build().start();
        IkeServiceGrpc.IkeServiceBlockingStub reader = stub(ca, TestPki.leaf(dir, ca, "monitor"));
        IkeServiceGrpc.IkeServiceBlockingStub operator = stub(ca, TestPki.leaf(dir, ca, "oncall", "oncall.keel.test"));
        IkeServiceGrpc.IkeServiceBlockingStub admin = stub(ca, TestPki.leaf(dir, ca, "ops"));
        IkeServiceGrpc.IkeServiceBlockingStub stranger = stub(ca, TestPki.leaf(dir, ca, "stranger"));
        TerminateRequest terminate = TerminateRequest.newBuilder().setIkeUniqueId(id).build();

        assertThat(reader.listIkeSas(ListIkeSasRequest.getDefaultInstance()).getIkeSasCount()).isEqualTo(1);
        StatusRuntimeException denied = failure(() -> reader.terminate(terminate));
        assertThat(denied.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(denied.getStatus().getDescription()).contains("keel.v1.IkeService/Terminate")
                .contains("needs role OPERATOR or ADMIN");
        assertThat(code(() -> reader.initiate(InitiateRequest.newBuilder().setConnection("to-bob").build()).hasNext()))
                .isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(peers.alice.ikeSas()).as("a refused call changes nothing").hasSize(1);
        assertThat(code(() -> stranger.listIkeSas(ListIkeSasRequest.getDefaultInstance())))
                .isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(code(() -> operator.setLogLevels(SetLogLevelsRequest.getDefaultInstance())))
                .isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(admin.setLogLevels(SetLogLevelsRequest.getDefaultInstance()).getLevelsList())
                .as("every subsystem's level").hasSize(dev.keel.rpc.KeelLog.SUBSYSTEMS.size());
        IkeServiceGrpc.IkeServiceBlockingStub anonymous = stub(ca, null);
        assertThat(code(() -> anonymous.listIkeSas(ListIkeSasRequest.getDefaultInstance())))
                .isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);

        assertThat(operator.terminate(terminate).getIkeSasList()).containsExactly(id);
        assertThat(reader.listIkeSas(ListIkeSasRequest.getDefaultInstance()).getIkeSasList()).isEmpty();
    }

    @Test
    void aCallWithoutAVerifiedCertificateIsUnauthenticated() throws Exception {
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).directExecutor()
                .intercept(IkeAdminRoles.authorization(Map.of(IkeAdminRoles.Role.ADMIN, List.of("ops"))))
                .addService(new IkeAdminService("", () -> 1, LogControl.NODE)).build().start();
        ManagedChannel ch = InProcessChannelBuilder.forName(name).directExecutor().build();
        channels.add(ch);
        StatusRuntimeException e = failure(() -> IkeServiceGrpc.newBlockingStub(ch)
                .listIkeSas(ListIkeSasRequest.getDefaultInstance()));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    }

    private IkeServiceGrpc.IkeServiceBlockingStub stub(TestPki.Issued ca, TestPki.Issued client) throws Exception {
        TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder().trustManager(ca.certPem().toFile());
        if (client != null) {
            b.keyManager(client.certPem().toFile(), client.keyPem().toFile());
        }
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", server.getPort(), b.build())
                .overrideAuthority("localhost").build();
        channels.add(ch);
        return IkeServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS);
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
}
