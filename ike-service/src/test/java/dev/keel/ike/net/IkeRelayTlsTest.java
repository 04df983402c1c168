package dev.keel.ike.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.service.IkeRelayRoles;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.IkeRelayGrpc;
import dev.keel.proto.v1.RelayFrame;
import dev.keel.proto.v1.RelayHello;
import dev.keel.rpc.MutualTls;
import dev.keel.rpc.TestPki;
import com.google.protobuf.ByteString;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The relay over mutual TLS as ike-service serves it: a worker may only attach under a node name
 * its certificate carries, since ike-service claims and installs CHILD SAs for the node a worker
 * names (docs/security.md).
 */
class IkeRelayTlsTest {

    private static final InetAddress OUTER = InetAddress.ofLiteral("192.0.2.10");

    @TempDir
    Path dir;
    private TestPki.Issued ca;
    private Server server;

    @BeforeEach
    void start() throws Exception {
        ca = TestPki.ca(dir, "keel-test-ca");
        TestPki.Issued serverCert = TestPki.leaf(dir, ca, "ike.keel.test", "localhost");
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
                        MutualTls.serverCredentials(serverCert.certPem(), serverCert.keyPem(), ca.certPem()))
                .intercept(MutualTls.identitiesInContext())
                .intercept(IkeRelayRoles.authorization(Map.of(IkeRelayRoles.Role.DATA_PLANE,
                        List.of("sad-a", "sad-b"))))
                .addService(new IkeRelayService("ike1", OUTER, 500, 4500, 1_000))
                .build().start();
    }

    @AfterEach
    void stop() throws Exception {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    /** What the relay answers a hello naming {@code workerId} from a worker presenting {@code cn}. */
    private Object hello(String cn, String workerId) throws Exception {
        TestPki.Issued cert = TestPki.leaf(dir, ca, cn);
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", server.getPort(),
                TlsChannelCredentials.newBuilder().trustManager(ca.certPem().toFile())
                        .keyManager(cert.certPem().toFile(), cert.keyPem().toFile()).build())
                .overrideAuthority("localhost").build();
        try {
            CompletableFuture<Object> answer = new CompletableFuture<>();
            StreamObserver<RelayFrame> out = IkeRelayGrpc.newStub(ch).relay(new StreamObserver<>() {
                @Override
                public void onNext(RelayFrame f) {
                    answer.complete(f.getKindCase());
                }

                @Override
                public void onError(Throwable t) {
                    answer.complete(Status.fromThrowable(t));
                }

                @Override
                public void onCompleted() {
                    answer.complete("completed");
                }
            });
            out.onNext(RelayFrame.newBuilder().setHello(RelayHello.newBuilder().setWorkerId(workerId)
                    .addLocal(Endpoint.newBuilder().setAddress(ByteString.copyFrom(OUTER.getAddress())).setPort(4500)))
                    .build());
            return answer.get(20, TimeUnit.SECONDS);
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aWorkerAttachesOnlyUnderTheNodeNameItsCertificateCarries() throws Exception {
        assertThat(hello("sad-a", "sad-a")).isEqualTo(RelayFrame.KindCase.WELCOME);
        assertThat(hello("sad-a", "SAD-A")).as("names compare as identities do, case aside")
                .isEqualTo(RelayFrame.KindCase.WELCOME);

        Object impostor = hello("sad-a", "sad-b");
        assertThat(impostor).isInstanceOf(Status.class);
        Status s = (Status) impostor;
        assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(s.getDescription()).contains("hello.worker_id 'sad-b'", "sad-a");

        Object stranger = hello("someone", "someone");
        assertThat(((Status) stranger).getCode()).as("no data-plane role").isEqualTo(Status.Code.PERMISSION_DENIED);
    }
}
