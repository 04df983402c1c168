package dev.keel.rpc;

import io.grpc.ForwardingServerCallListener;
import io.grpc.ServerCall;

/**
 * A server call listener that checks each request before the service sees it: {@link #refused}
 * closes the call and answers true to stop it. The service was started, but sees neither the
 * refused request nor the half-close after it, so a unary or server-streaming method never runs.
 */
abstract class RequestCheck<Q> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {

    private boolean refused;

    RequestCheck(ServerCall.Listener<Q> delegate) {
        super(delegate);
    }

    /** Closes the call and returns true when {@code request} may not go on; otherwise false. */
    abstract boolean refused(Q request);

    @Override
    public final void onMessage(Q message) {
        if (refused) {
            return;
        }
        if (refused(message)) {
            refused = true;
            return;
        }
        super.onMessage(message);
    }

    @Override
    public final void onHalfClose() {
        if (!refused) {
            super.onHalfClose();
        }
    }
}
