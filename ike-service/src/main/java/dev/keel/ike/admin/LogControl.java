package dev.keel.ike.admin;

import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.SetLogLevelsRequest;
import dev.keel.proto.v1.SetLogLevelsResponse;
import dev.keel.proto.v1.WatchLogRequest;
import dev.keel.rpc.AdminLogs;
import io.grpc.stub.StreamObserver;
import java.util.function.UnaryOperator;

/**
 * The node's log subsystems as keel.v1.IkeService's WatchLog and SetLogLevels reach them: the
 * service hands both calls here unchanged ({@link #NODE} in a running node).
 */
public interface LogControl {

    /**
     * Streams the node's log lines that {@code request} selects to {@code lines}, each passed
     * through {@code annotate} (on the logging thread: it must not block), until the client cancels.
     */
    void watch(WatchLogRequest request, StreamObserver<LogLine> lines, UnaryOperator<LogLine> annotate);

    /** Changes the levels of the subsystems {@code request} names; answers with every subsystem's level. */
    void set(SetLogLevelsRequest request, StreamObserver<SetLogLevelsResponse> answer);

    /** This process's log subsystems ({@link dev.keel.rpc.KeelLog}, through {@link AdminLogs}). */
    LogControl NODE = new LogControl() {
        @Override
        public void watch(WatchLogRequest request, StreamObserver<LogLine> lines, UnaryOperator<LogLine> annotate) {
            AdminLogs.watch(request, lines, annotate);
        }

        @Override
        public void set(SetLogLevelsRequest request, StreamObserver<SetLogLevelsResponse> answer) {
            AdminLogs.setLevels(request, answer);
        }
    };
}
