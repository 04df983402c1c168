package dev.keel.sad.grpc;

import com.hazelcast.core.HazelcastException;
import com.hazelcast.core.HazelcastInstanceNotActiveException;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionException;
import dev.keel.sad.SadException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Maps domain refusals and cluster failures to gRPC statuses. Never includes key bytes. */
final class Statuses {

    private static final System.Logger LOG = System.getLogger(Statuses.class.getName());

    private Statuses() {}

    static StatusRuntimeException of(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof StatusRuntimeException s) {
            return s;
        }
        if (t instanceof SadException e) {
            Status s = switch (e.kind()) {
                case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
                case NOT_FOUND -> Status.NOT_FOUND;
                case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
                case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
                case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
                case UNAVAILABLE -> Status.UNAVAILABLE;
                case DATA_LOSS -> Status.DATA_LOSS;
            };
            return s.withDescription(e.getMessage()).asRuntimeException();
        }
        if (t instanceof SplitBrainProtectionException) {
            return Status.UNAVAILABLE.withDescription("SA database refuses changes: this side of the cluster is below "
                    + "its minimum size (split brain protection)").asRuntimeException();
        }
        if (t instanceof HazelcastInstanceNotActiveException) {
            return Status.UNAVAILABLE.withDescription("this sad-service member is shutting down").asRuntimeException();
        }
        if (t instanceof HazelcastException) {
            return Status.UNAVAILABLE.withDescription("SA database cluster unavailable: " + t.getClass().getSimpleName())
                    .asRuntimeException();
        }
        LOG.log(System.Logger.Level.ERROR, "internal error serving SaService", t);
        return Status.INTERNAL.withDescription("internal error: " + t.getClass().getSimpleName()).asRuntimeException();
    }
}
