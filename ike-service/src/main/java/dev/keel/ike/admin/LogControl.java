package dev.keel.ike.admin;

import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.SetLogLevelsRequest;
import dev.keel.proto.v1.SetLogLevelsResponse;
import dev.keel.proto.v1.WatchLogRequest;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * The node's log subsystems as keel.v1.IkeService's WatchLog and SetLogLevels reach them: the
 * service hands both calls here unchanged. The node's logging provides it.
 */
public interface LogControl {

    /** Streams the node's log lines that {@code request} selects to {@code lines} until the client cancels. */
    void watch(WatchLogRequest request, StreamObserver<LogLine> lines);

    /**
     * Changes the levels of the subsystems {@code request} names.
     *
     * @return every subsystem's level after the change
     * @throws io.grpc.StatusRuntimeException with the status the caller gets (INVALID_ARGUMENT naming the field)
     */
    SetLogLevelsResponse set(SetLogLevelsRequest request);

    /** Until the node's log subsystems are plugged in: both calls answer UNIMPLEMENTED. */
    LogControl UNWIRED = new LogControl() {
        private static final String WHY = "log subsystems are not wired yet";

        @Override
        public void watch(WatchLogRequest request, StreamObserver<LogLine> lines) {
            lines.onError(Status.UNIMPLEMENTED.withDescription(WHY).asRuntimeException());
        }

        @Override
        public SetLogLevelsResponse set(SetLogLevelsRequest request) {
            throw Status.UNIMPLEMENTED.withDescription(WHY).asRuntimeException();
        }
    };
}
