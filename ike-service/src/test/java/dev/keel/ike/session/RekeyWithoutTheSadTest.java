package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.engine.IkeSettings;
import dev.keel.ike.service.SadChildInstaller;
import dev.keel.proto.v1.DeleteChildSaRequest;
import dev.keel.proto.v1.DeleteChildSaResponse;
import dev.keel.proto.v1.InstallChildSaResult;
import dev.keel.proto.v1.InstallChildSasRequest;
import dev.keel.proto.v1.InstallChildSasResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Bob's CHILD SAs go into the SAD through the real {@link SadChildInstaller}, over gRPC to a
 * sad-service stand-in that can refuse or be unreachable: a rekey alice starts while bob's SAD
 * fails is answered TEMPORARY_FAILURE (RFC 7296 §2.25), both keep the old pair, and alice's retry
 * once the SAD is back replaces it. Before, bob answered with the new pair, deleted it afterwards,
 * and alice deleted the old one: the tunnel was gone.
 */
class RekeyWithoutTheSadTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";

    /** How sad-service answers InstallChildSas now. */
    private enum Sad { OK, UNAVAILABLE, REFUSES }

    @Test
    void aRekeyWhileBobsSadIsUnreachableOrRefusesKeepsTheOldPairAndSucceedsOnceItIsBack() throws Exception {
        AtomicReference<Sad> sad = new AtomicReference<>(Sad.OK);
        AtomicInteger installs = new AtomicInteger();
        String name = "sad-" + UUID.randomUUID();
        Server server = InProcessServerBuilder.forName(name).directExecutor().addService(new SaServiceGrpc.SaServiceImplBase() {
            @Override
            public void installChildSas(InstallChildSasRequest req, StreamObserver<InstallChildSasResponse> out) {
                installs.incrementAndGet();
                switch (sad.get()) {
                    case UNAVAILABLE -> out.onError(Status.UNAVAILABLE.withDescription("no cluster member").asRuntimeException());
                    case REFUSES, OK -> {
                        InstallChildSasResponse.Builder b = InstallChildSasResponse.newBuilder();
                        req.getItemsList().forEach(i -> b.addResults(sad.get() == Sad.OK ? InstallChildSaResult.getDefaultInstance()
                                : InstallChildSaResult.newBuilder().setCode(Status.Code.ALREADY_EXISTS.value())
                                        .setMessage("child SA exists").build()));
                        out.onNext(b.build());
                        out.onCompleted();
                    }
                }
            }

            @Override
            public void deleteChildSa(DeleteChildSaRequest req, StreamObserver<DeleteChildSaResponse> out) {
                out.onNext(DeleteChildSaResponse.getDefaultInstance());
                out.onCompleted();
            }
        }).build().start();
        ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        SadChildInstaller installer = new SadChildInstaller(channel, "bob", "", new InetSocketAddress("192.0.2.2", 4500), null);
        try (TwoIkePeers peers = new TwoIkePeers(IkeSettings.DEFAULT, IkeEvents.NONE, installer)) {
            installer.attach(peers.bob);
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            ChildSa old = peers.aliceEvents.children.peek();

            for (Sad failure : new Sad[] {Sad.UNAVAILABLE, Sad.REFUSES}) {
                ChildSa current = old;
                sad.set(failure);
                int before = installs.get();
                int refusalsBefore = (int) peers.aliceEvents.failures.stream().filter(f -> f.contains("TEMPORARY_FAILURE")).count();
                peers.alice.rekeyChild(sa, current.inboundSpi());
                Eventually.until(Duration.ofSeconds(5), failure + ": alice told TEMPORARY_FAILURE", () -> peers.aliceEvents.failures
                        .stream().filter(f -> f.contains("TEMPORARY_FAILURE")).count() > refusalsBefore);
                assertThat(installs.get()).as(failure + ": bob tried to install").isGreaterThan(before);
                assertThat(peers.aliceEvents.childrenDeleted).as(failure + ": alice kept the old pair").isEmpty();
                assertThat(peers.bobEvents.childrenDeleted).as(failure + ": bob forgot only what he could not install")
                        .noneMatch(c -> c.inboundSpi() == current.outboundSpi());
                sad.set(Sad.OK); // before alice's own retry, 0.5-2 s later; let it run through
                Eventually.until(Duration.ofSeconds(10), failure + ": the retry replaced the pair",
                        () -> peers.aliceEvents.childrenDeleted.contains(current));
                old = peers.alice.ikeSas().getFirst().childSas().list().getFirst();
                peers.aliceEvents.childrenDeleted.clear();
            }
            ChildSa last = old;
            Eventually.until(Duration.ofSeconds(5), "one pair on each side, the same one",
                    () -> peers.bob.ikeSas().getFirst().childSas().list().size() == 1
                            && peers.bob.ikeSas().getFirst().childSas().list().getFirst().inboundSpi() == last.outboundSpi());
        } finally {
            channel.shutdownNow();
            server.shutdownNow();
        }
    }
}
