package dev.keel.rpc;

import io.grpc.Status;

/** One-line descriptions of gRPC failures for logs. */
public final class Statuses {

    private Statuses() {
    }

    /**
     * {@code CODE: description (cause)} of {@code t}, the cause by its own message only: {@link
     * Status#toString} carries the cause's whole stack trace, a screenful per reconnect attempt
     * while a peer service is down.
     */
    public static String brief(Throwable t) {
        Status s = Status.fromThrowable(t);
        StringBuilder b = new StringBuilder(s.getCode().name());
        if (s.getDescription() != null) {
            b.append(": ").append(s.getDescription());
        }
        Throwable cause = s.getCause();
        if (cause != null && cause != t) {
            b.append(" (").append(cause).append(')');
        }
        return b.toString();
    }
}
