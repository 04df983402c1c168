package dev.keel.rpc;

import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.SetLogLevelsRequest;
import dev.keel.proto.v1.SetLogLevelsResponse;
import dev.keel.proto.v1.WatchLogRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.HashSet;
import java.util.Queue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/** The admin API's WatchLog and SetLogLevels (keel.v1.IkeService) over {@link KeelLog}. */
public final class AdminLogs {

    /** Lines a slow WatchLog client may have waiting before newer ones are dropped (and counted). */
    static final int QUEUE_LINES = 4096;

    private AdminLogs() {
    }

    /** WatchLog: streams the process's log lines until the client cancels. */
    public static void watch(WatchLogRequest request, StreamObserver<LogLine> out) {
        watch(request, out, UnaryOperator.identity());
    }

    /**
     * WatchLog with each line passed through {@code annotate} first (on the logging thread, so it
     * must neither block nor log), e.g. to name the SA a line is about.
     */
    public static void watch(WatchLogRequest request, StreamObserver<LogLine> out, UnaryOperator<LogLine> annotate) {
        LogLevel level = request.getLevel() == LogLevel.LOG_LEVEL_UNSPECIFIED ? LogLevel.LOG_LEVEL_INFO : request.getLevel();
        if (!KeelLog.LEVELS.contains(level) || !KeelLog.SUBSYSTEMS.containsAll(request.getSubsystemsList())) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("level and subsystems must be ones keel.v1 defines")
                    .asRuntimeException());
            return;
        }
        ServerCallStreamObserver<LogLine> call = (ServerCallStreamObserver<LogLine>) out;
        Stream stream = new Stream(call);
        AutoCloseable subscription = KeelLog.tap().subscribe(level, new HashSet<>(request.getSubsystemsList()),
                line -> stream.offer(annotate.apply(line)));
        call.setOnCancelHandler(() -> {
            try {
                subscription.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        call.setOnReadyHandler(stream::drain);
    }

    /** SetLogLevels: INVALID_ARGUMENT when an entry lacks its subsystem or level. */
    public static void setLevels(SetLogLevelsRequest request, StreamObserver<SetLogLevelsResponse> out) {
        SetLogLevelsResponse response;
        try {
            response = SetLogLevelsResponse.newBuilder().addAllLevels(KeelLog.setLevels(request.getLevelsList())).build();
        } catch (IllegalArgumentException e) {
            out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        out.onNext(response);
        out.onCompleted();
    }

    /**
     * One client's lines: queued on the logging thread, sent by whichever thread finds the call
     * ready and no one else sending (a line logged while sending, e.g. by gRPC itself, only queues).
     */
    private static final class Stream {
        private final ServerCallStreamObserver<LogLine> call;
        private final Queue<LogLine> queue = new ArrayBlockingQueue<>(QUEUE_LINES);
        private final AtomicBoolean sending = new AtomicBoolean();
        private final AtomicLong dropped = new AtomicLong();

        Stream(ServerCallStreamObserver<LogLine> call) {
            this.call = call;
        }

        void offer(LogLine line) {
            if (!queue.offer(line)) {
                dropped.incrementAndGet();
            }
            drain();
        }

        void drain() {
            while (!queue.isEmpty() && sending.compareAndSet(false, true)) {
                try {
                    long lost = dropped.getAndSet(0);
                    if (lost > 0 && !call.isCancelled()) {
                        call.onNext(LogLine.newBuilder().setTimeMillis(System.currentTimeMillis())
                                .setLevel(LogLevel.LOG_LEVEL_WARN)
                                .setMessage(lost + " log lines dropped: this client read too slowly").build());
                    }
                    LogLine next;
                    while (call.isReady() && !call.isCancelled() && (next = queue.poll()) != null) {
                        call.onNext(next);
                    }
                    if (!call.isReady() || call.isCancelled()) {
                        return;
                    }
                } finally {
                    sending.set(false);
                }
            }
        }
    }
}
