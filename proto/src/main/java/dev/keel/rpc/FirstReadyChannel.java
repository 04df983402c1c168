package dev.keel.rpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Several sad-service members as one channel (esp-worker's {@code sad.endpoints}, ike-service's
 * {@code --sad}): each call goes to the first member, in the
 * configured order, whose connection is ready; with none ready, to the first not failing; with
 * all failing, to the next in turn. Every member holds the whole SAD (Hazelcast), so any of them
 * serves the Watch stream and the leases; the feeds' streams reconnect after a failure
 * ({@code ResumableWatch}) and so move to a live member. One channel per member, so that TLS
 * checks each member's certificate against its own name.
 */
public final class FirstReadyChannel extends Channel implements AutoCloseable {

    private final List<ManagedChannel> members;
    private final AtomicInteger turn = new AtomicInteger();

    public FirstReadyChannel(List<ManagedChannel> members) {
        if (members.isEmpty()) {
            throw new IllegalArgumentException("no sad-service endpoint");
        }
        this.members = List.copyOf(members);
        members.forEach(m -> m.getState(true)); // connect to all now: a standby is ready when it is needed
    }

    @Override
    public <Q, R> ClientCall<Q, R> newCall(MethodDescriptor<Q, R> method, CallOptions options) {
        return pick().newCall(method, options);
    }

    /** The member the next call goes to. */
    public ManagedChannel pick() {
        for (ManagedChannel m : members) {
            if (m.getState(true) == ConnectivityState.READY) {
                return m;
            }
        }
        for (ManagedChannel m : members) {
            if (m.getState(false) != ConnectivityState.TRANSIENT_FAILURE) {
                return m;
            }
        }
        return members.get(Math.floorMod(turn.getAndIncrement(), members.size()));
    }

    @Override
    public String authority() {
        return members.getFirst().authority();
    }

    @Override
    public void close() {
        members.forEach(ManagedChannel::shutdownNow);
        for (ManagedChannel m : members) {
            try {
                m.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
