package dev.keel.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.GetChildSaResponse;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The method table, and the interceptor's answer to a call that has no TLS at all. */
class MethodRolesTest {

    enum Role { READER, WRITER }

    private static final MethodRoles<Role> TABLE = MethodRoles.builder(Role.class)
            .anyClient(MethodRoles.HEALTH_AND_REFLECTION)
            .allow(SaServiceGrpc.getGetChildSaMethod(), Role.READER, Role.WRITER)
            .allow(SaServiceGrpc.getInstallChildSaMethod(), Role.WRITER)
            .build();

    @Test
    void tableAnswersPerMethodAndListsWhatItMisses() {
        assertThat(TABLE.openToAnyClient("grpc.health.v1.Health/Check")).isTrue();
        assertThat(TABLE.openToAnyClient("keel.v1.SaService/GetChildSa")).isFalse();
        assertThat(TABLE.rolesFor("keel.v1.SaService/GetChildSa")).containsExactlyInAnyOrder(Role.READER, Role.WRITER);
        assertThat(TABLE.rolesFor("keel.v1.SaService/InstallChildSa")).containsExactly(Role.WRITER);
        assertThat(TABLE.covers("keel.v1.SaService/LeaseSequence")).isFalse();
        assertThat(TABLE.rolesFor("keel.v1.SaService/LeaseSequence")).isEmpty();
        assertThat(TABLE.missing(SaServiceGrpc.getServiceDescriptor()))
                .contains("keel.v1.SaService/LeaseSequence", "keel.v1.SaService/Watch")
                .doesNotContain("keel.v1.SaService/GetChildSa", "keel.v1.SaService/InstallChildSa");
    }

    @Test
    void aMethodNamedTwiceIsRefused() {
        assertThatThrownBy(() -> MethodRoles.builder(Role.class)
                .allow(SaServiceGrpc.getGetChildSaMethod(), Role.READER)
                .allow(SaServiceGrpc.getGetChildSaMethod(), Role.WRITER))
                .hasMessage("keel.v1.SaService/GetChildSa is named twice in the method table");
    }

    @Test
    void badIdentityIsRefusedNamingTheRole() {
        assertThatThrownBy(() -> RoleAuthorization.of(TABLE, Map.of(Role.WRITER, Set.of("ok", "CN=x,,"))))
                .hasMessageStartingWith("role WRITER: identity 'CN=x,,' is not a distinguished name");
    }

    @Test
    void callWithoutTlsIsUnauthenticatedAndNeverReachesTheService() throws Exception {
        AtomicInteger reached = new AtomicInteger();
        String name = InProcessServerBuilder.generateName();
        Server server = InProcessServerBuilder.forName(name).directExecutor()
                .addService(new SaServiceGrpc.SaServiceImplBase() {
                    @Override
                    public void getChildSa(GetChildSaRequest request, StreamObserver<GetChildSaResponse> out) {
                        reached.incrementAndGet();
                        out.onNext(GetChildSaResponse.getDefaultInstance());
                        out.onCompleted();
                    }
                })
                .intercept(RoleAuthorization.of(TABLE, Map.of(Role.READER, Set.of("anyone"))))
                .build().start();
        ManagedChannel ch = InProcessChannelBuilder.forName(name).directExecutor().build();
        try {
            assertThatThrownBy(() -> SaServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .getChildSa(GetChildSaRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
            assertThat(reached).hasValue(0);
        } finally {
            ch.shutdownNow();
            server.shutdownNow();
        }
    }
}
