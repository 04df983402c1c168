package dev.keel.policy.store;

import dev.keel.policy.config.ConnectionConfig;
import dev.keel.policy.config.PolicyConfig;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The running configuration, its revision history and the subscribers to its changes.
 *
 * <p>The configuration is an immutable snapshot swapped in one volatile write, so readers never
 * see half a reload and a rejected reload (which never reaches {@link #apply}) leaves the
 * running one untouched. Revisions count applied configurations from 1 (the initial one) within
 * an {@link #epoch()}, a random number fixed for the life of the store so that a subscriber's
 * revision from an earlier process is never mistaken for one of this process.
 *
 * <p>The last {@code retention} deltas are kept so a subscriber that reconnects with the
 * revision it last applied gets exactly what it missed; one away longer gets a snapshot.
 * Subscribers are called in revision order, under the store's lock, on the thread that applies
 * the configuration: a listener must not block (gRPC's {@code onNext} queues and returns).
 */
public final class PolicyStore {

    /** Deltas retained for reconnecting subscribers unless configured otherwise. */
    public static final int DEFAULT_RETENTION = 64;

    /** A configuration and the revision it runs as. */
    public record Revision(long epoch, long revision, PolicyConfig config) {
    }

    /** Receives a subscriber's stream; called in order, never concurrently for one listener. */
    public interface Listener {
        /** The whole configuration at {@code revision}: replace everything held. */
        void onSnapshot(long epoch, long revision, PolicyConfig config);

        /** One change; {@code delta.revision()} is the previous revision + 1. */
        void onDelta(long epoch, ConfigDelta delta);
    }

    /** Stops a subscription. */
    public interface Subscription extends AutoCloseable {
        @Override
        void close();
    }

    private final long epoch;
    private final int retention;
    private final Object lock = new Object();
    private final ArrayDeque<ConfigDelta> retained = new ArrayDeque<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private volatile Revision current;

    /** A store running {@code initial} as revision 1, with the default retention and a random epoch. */
    public PolicyStore(PolicyConfig initial) {
        this(initial, DEFAULT_RETENTION, randomEpoch());
    }

    /** A store running {@code initial} as revision 1, keeping {@code retention} deltas. */
    public PolicyStore(PolicyConfig initial, int retention, long epoch) {
        if (retention < 1) {
            throw new IllegalArgumentException("retention must be at least 1, not " + retention);
        }
        this.retention = retention;
        this.epoch = epoch;
        this.current = new Revision(epoch, 1, Objects.requireNonNull(initial, "initial"));
    }

    private static long randomEpoch() {
        long e;
        do {
            e = new SecureRandom().nextLong() & Long.MAX_VALUE;
        } while (e == 0); // 0 is "no epoch" on the wire
        return e;
    }

    /** The running configuration and its revision. */
    public Revision current() {
        return current;
    }

    /** This store's revision sequence. */
    public long epoch() {
        return epoch;
    }

    /** Makes {@code config} the running configuration and tells every subscriber; returns its revision. */
    public Revision apply(PolicyConfig config) {
        Objects.requireNonNull(config, "config");
        synchronized (lock) {
            Revision old = current;
            ConfigDelta delta = diff(old.config(), config, old.revision() + 1);
            Revision next = new Revision(epoch, delta.revision(), config);
            retained.addLast(delta);
            while (retained.size() > retention) {
                retained.removeFirst();
            }
            current = next;
            for (Listener l : listeners) {
                deliver(l, () -> l.onDelta(epoch, delta));
            }
            return next;
        }
    }

    /**
     * Subscribes {@code listener}. It first receives, synchronously: nothing if
     * {@code sinceRevision} is the current revision of this epoch; the deltas after
     * {@code sinceRevision} if they are all retained; otherwise a snapshot. Then every later
     * delta, until the subscription is closed or the listener throws.
     */
    public Subscription subscribe(long sinceRevision, long sinceEpoch, Listener listener) {
        Objects.requireNonNull(listener, "listener");
        synchronized (lock) {
            Revision now = current;
            List<ConfigDelta> missed = sinceEpoch == epoch ? missedSince(sinceRevision, now.revision()) : null;
            if (missed == null) {
                listener.onSnapshot(epoch, now.revision(), now.config());
            } else {
                for (ConfigDelta d : missed) {
                    listener.onDelta(epoch, d);
                }
            }
            listeners.add(listener);
        }
        return () -> listeners.remove(listener);
    }

    /** The deltas after {@code since} up to {@code now}, or null when a snapshot is needed. */
    private List<ConfigDelta> missedSince(long since, long now) {
        if (since <= 0 || since > now) {
            return null;
        }
        if (since == now) {
            return List.of();
        }
        ConfigDelta oldest = retained.peekFirst();
        if (oldest == null || oldest.revision() > since + 1) {
            return null;
        }
        List<ConfigDelta> out = new ArrayList<>();
        for (ConfigDelta d : retained) {
            if (d.revision() > since) {
                out.add(d);
            }
        }
        return out;
    }

    /** Number of subscribers, for metrics and tests. */
    public int subscriberCount() {
        return listeners.size();
    }

    private void deliver(Listener l, Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            // A broken subscriber must not stop the others or the reload: drop it; it can resubscribe.
            listeners.remove(l);
        }
    }

    static ConfigDelta diff(PolicyConfig old, PolicyConfig next, long revision) {
        List<ConnectionConfig> upserted = new ArrayList<>();
        for (ConnectionConfig c : next.connections().values()) {
            if (!c.equals(old.connections().get(c.name()))) {
                upserted.add(c);
            }
        }
        List<String> removed = new ArrayList<>();
        for (Iterator<String> it = old.connections().keySet().iterator(); it.hasNext();) {
            String name = it.next();
            if (!next.connections().containsKey(name)) {
                removed.add(name);
            }
        }
        boolean spdChanged = !old.compiled().equals(next.compiled());
        return new ConfigDelta(revision, upserted, removed, spdChanged, spdChanged ? next.compiled() : List.of());
    }
}
