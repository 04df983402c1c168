package dev.keel.esp.feed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.sa.ReplayWindow;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import io.grpc.HandlerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * How many calls the checkpoints of many SAs cost, on the real checkpoint thread: those due at
 * once go as one call, not one each (docs/ha.md, "Measured: 1,000 tunnels": a call per checkpoint
 * queued a thousand operations in sad-service after a takeover). The server here counts calls by
 * method and fails them all, so it needs none of the API's types.
 */
class ReplayCheckpointCallsTest {

    private static final int SAS = 200;

    @Test
    void theCheckpointsOfTwoHundredSasDueAtOnceGoAsOneCall() throws Exception {
        Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
        String name = InProcessServerBuilder.generateName();
        Server server = InProcessServerBuilder.forName(name).fallbackHandlerRegistry(new HandlerRegistry() {
            @Override
            public ServerMethodDefinition<?, ?> lookupMethod(String method, String authority) {
                MethodDescriptor<byte[], byte[]> d = MethodDescriptor.newBuilder(BYTES, BYTES)
                        .setFullMethodName(method).setType(MethodDescriptor.MethodType.UNARY).build();
                return ServerMethodDefinition.create(d, (ServerCall<byte[], byte[]> call, Metadata headers) -> {
                    calls.computeIfAbsent(method, m -> new AtomicInteger()).incrementAndGet();
                    call.close(Status.UNAVAILABLE.withDescription("counted"), new Metadata());
                    return new ServerCall.Listener<>() { };
                });
            }
        }).build().start();
        ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
        ReplayCheckpoints checkpoints = new ReplayCheckpoints(channel, "w1", CheckpointRule.defaults());
        try {
            for (int i = 0; i < SAS; i++) {
                String id = "sa-" + i;
                ChildSaRecord r = ChildSaRecord.newBuilder().setId(id).setDirection(Direction.DIRECTION_INBOUND)
                        .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).setOwnerNodeId("w1").setReplayMargin(64).build();
                ReplayWindow w = new ReplayWindow(1024);
                checkpoints.attach(id, w, r, 0);
                for (long seq = 1; seq <= 40; seq++) { // past half the margin: the window signals
                    w.accept(seq);
                }
            }
            checkpoints.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (checkpoints.failed() < SAS && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertThat(checkpoints.sent()).as("checkpoints asked for").isGreaterThanOrEqualTo(SAS);
            int total = calls.values().stream().mapToInt(AtomicInteger::get).sum();
            // One round's checkpoints; a tick (every 200 ms) before they all failed may ask again.
            assertThat(total).as("calls for %d SAs' checkpoints: %s", SAS, calls).isBetween(1, 3);
            assertThat(calls.keySet()).isEqualTo(Set.of("keel.v1.SaService/CheckpointReplays"));
        } finally {
            checkpoints.close();
            channel.shutdownNow();
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };
}
