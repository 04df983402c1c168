package dev.keel.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.LogSubsystem;
import dev.keel.proto.v1.SetLogLevelsRequest;
import dev.keel.proto.v1.SetLogLevelsResponse;
import dev.keel.proto.v1.SubsystemLevel;
import dev.keel.proto.v1.WatchLogRequest;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminLogsTest {

    private Server server;
    private ManagedChannel channel;

    @BeforeEach
    void up() throws Exception {
        KeelLog.install(LogSettings.DEFAULT);
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).addService(new IkeServiceGrpc.IkeServiceImplBase() {
            @Override
            public void watchLog(WatchLogRequest request, StreamObserver<LogLine> out) {
                AdminLogs.watch(request, out);
            }

            @Override
            public void setLogLevels(SetLogLevelsRequest request, StreamObserver<SetLogLevelsResponse> out) {
                AdminLogs.setLevels(request, out);
            }
        }).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
    }

    @AfterEach
    void down() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        KeelLog.install(LogSettings.DEFAULT);
    }

    @Test
    void watchStreamsTheLinesItAskedForUntilCancelledAndRaisingALevelShowsMore() throws Exception {
        List<LogLine> got = new CopyOnWriteArrayList<>();
        CountDownLatch two = new CountDownLatch(2);
        ClientCallStreamObserver<?>[] call = new ClientCallStreamObserver<?>[1];
        IkeServiceGrpc.newStub(channel).watchLog(WatchLogRequest.newBuilder().setLevel(LogLevel.LOG_LEVEL_DEBUG)
                .addSubsystems(LogSubsystem.LOG_SUBSYSTEM_CHD).build(), new ClientResponseObserver<WatchLogRequest, LogLine>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<WatchLogRequest> c) {
                        call[0] = c;
                    }

                    @Override
                    public void onNext(LogLine line) {
                        got.add(line);
                        two.countDown();
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        Logger chd = Logger.getLogger("dev.keel.ike.session.ChildSas");
        awaitSubscribed();
        chd.info("CHILD SA net{1} installed");
        chd.fine("not logged: chd is at INFO");
        Logger.getLogger("dev.keel.ike.session.IkeSa").info("another subsystem");
        SetLogLevelsResponse levels = IkeServiceGrpc.newBlockingStub(channel).setLogLevels(SetLogLevelsRequest.newBuilder()
                .addLevels(SubsystemLevel.newBuilder().setSubsystem(LogSubsystem.LOG_SUBSYSTEM_CHD)
                        .setLevel(LogLevel.LOG_LEVEL_DEBUG)).build());
        assertThat(levels.getLevelsList()).hasSize(KeelLog.SUBSYSTEMS.size());
        chd.fine("logged now: chd is at DEBUG");

        assertThat(two.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(got).extracting(LogLine::getMessage).containsExactly("CHILD SA net{1} installed",
                "logged now: chd is at DEBUG");
        call[0].cancel("done", null);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (subscribers() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(subscribers()).isZero();
    }

    @Test
    void aLevelWithoutItsSubsystemIsInvalidArgument() {
        assertThatThrownBy(() -> IkeServiceGrpc.newBlockingStub(channel).setLogLevels(SetLogLevelsRequest.newBuilder()
                .addLevels(SubsystemLevel.newBuilder().setLevel(LogLevel.LOG_LEVEL_DEBUG)).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }

    private void awaitSubscribed() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (subscribers() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(subscribers()).isEqualTo(1);
    }

    private static int subscribers() {
        return KeelLog.tap().subscribers();
    }
}
