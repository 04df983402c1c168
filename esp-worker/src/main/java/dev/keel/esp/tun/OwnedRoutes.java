package dev.keel.esp.tun;

import dev.keel.core.net.IpPrefix;
import dev.keel.esp.config.PlaintextConfig;
import dev.keel.esp.feed.SaTables;
import dev.keel.proto.v1.ChildSaRecord;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The owner's routes through the TUN device ({@code tun.routes: owner_preferred}, docs/ha.md): a
 * child's remote prefixes get a route at the owner's metric while this node's data plane holds an
 * outbound SA of the child, next to the standby route every child has from start. A routing
 * daemon that exports the device's routes with their metric (BIRD's {@code protocol kernel
 * { learn; }} and {@code bgp_med = krt_metric}) makes the LAN prefer the node that encrypts for
 * the peer, and keeps the other node's standby route as the next path when the owner dies.
 *
 * <p>Counted per prefix: a rekey installs the new SA before the old one goes, so the count never
 * reaches zero and the route stays; children sharing a prefix share its route. The SA tables call in on
 * their writer's thread, where only the count changes; the kernel is brought to the count on a
 * thread of its own (the changes run {@code ip}), never on an event loop nor in the packet path.
 * Changes that pile up meanwhile go in one batch, and a route added and removed again before its
 * turn costs nothing. A failed change is logged and tried again after 1 s, then 2, 4, ... 30 s.
 */
public final class OwnedRoutes implements SaTables.OutboundListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OwnedRoutes.class);

    /** The first retry after a failed change, doubling up to {@link #MAX_RETRY_MILLIS}. */
    static final long FIRST_RETRY_MILLIS = 1_000;
    static final long MAX_RETRY_MILLIS = 30_000;

    /** One route change through the device. */
    public record Change(IpPrefix prefix, boolean add) {
        @Override
        public String toString() {
            return (add ? "add " : "remove ") + prefix;
        }
    }

    /** Changes the kernel's routes through the device. */
    public interface Applier {
        /** Applies {@code changes} (in order); returns those that failed, having logged why. */
        Collection<Change> apply(List<Change> changes) throws InterruptedException;
    }

    /** Runs a task after {@code delayMillis} (0: soon), one task at a time. */
    public interface Scheduler {
        void schedule(Runnable task, long delayMillis);
    }

    private final Function<ChildSaRecord, List<IpPrefix>> prefixesOf;
    private final Applier applier;
    private final Scheduler scheduler;
    private final Runnable onClose;
    /** Per installed outbound SA id: the prefixes counted for it (the configuration may change meanwhile). */
    private final Map<String, List<IpPrefix>> bySa = new HashMap<>();
    private final Map<IpPrefix, Integer> counts = new LinkedHashMap<>();
    /** Whether every prefix of the installed outbound SA {@code saId} has its owner's route (false: not installed here). */
    public synchronized boolean routedFor(String saId) {
        List<IpPrefix> prefixes = bySa.get(saId);
        return prefixes != null && routed.containsAll(prefixes);
    }

    /** The prefixes with an owner's route through the device, as far as this knows. */
    private final Set<IpPrefix> routed = new LinkedHashSet<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final AtomicBoolean retryScheduled = new AtomicBoolean();
    private final LongAdder added = new LongAdder();
    private final LongAdder removed = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private long retryMillis = FIRST_RETRY_MILLIS;
    private boolean closed;

    /**
     * @param prefixesOf a child's remote prefixes, from the outbound SA record of the child
     * @param applier    changes the kernel's routes
     * @param scheduler  runs the changes, one batch at a time, off the SA tables' thread
     * @param onClose    run by {@link #close()} (stops the scheduler's thread)
     */
    public OwnedRoutes(Function<ChildSaRecord, List<IpPrefix>> prefixesOf, Applier applier, Scheduler scheduler,
            Runnable onClose) {
        this.prefixesOf = prefixesOf;
        this.applier = applier;
        this.scheduler = scheduler;
        this.onClose = onClose;
    }

    /**
     * Routes through {@code device} at {@link PlaintextConfig.Routes#OWNER_METRIC} with iproute2
     * ({@link IpRoutes}), changed on a daemon thread of their own.
     */
    public static OwnedRoutes through(String device, Function<ChildSaRecord, List<IpPrefix>> prefixesOf) {
        ScheduledThreadPoolExecutor thread = new ScheduledThreadPoolExecutor(1,
                Thread.ofPlatform().daemon().name("keel-tun-routes").factory());
        thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        IpRoutes ip = new IpRoutes(device, PlaintextConfig.Routes.OWNER_METRIC);
        thread.execute(() -> { // now, not on the first change: that may be a takeover's
            try {
                ip.warmUp();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return new OwnedRoutes(prefixesOf, ip, scheduler(thread), thread::shutdownNow);
    }

    private static Scheduler scheduler(ScheduledExecutorService thread) {
        return (task, delayMillis) -> {
            try {
                thread.schedule(task, delayMillis, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                // closed
            }
        };
    }

    @Override
    public void outboundInstalled(ChildSaRecord record) {
        synchronized (this) {
            List<IpPrefix> prefixes = List.copyOf(new LinkedHashSet<>(prefixesOf.apply(record)));
            if (prefixes.isEmpty() || bySa.putIfAbsent(record.getId(), prefixes) != null) {
                return;
            }
            for (IpPrefix p : prefixes) {
                counts.merge(p, 1, Integer::sum);
            }
        }
        kick();
    }

    @Override
    public void outboundRemoved(ChildSaRecord record) {
        synchronized (this) {
            List<IpPrefix> prefixes = bySa.remove(record.getId());
            if (prefixes == null) {
                return;
            }
            for (IpPrefix p : prefixes) {
                counts.computeIfPresent(p, (k, n) -> n == 1 ? null : n - 1);
            }
        }
        kick();
    }

    private void kick() {
        if (!scheduled.getAndSet(true)) {
            scheduler.schedule(this::applyChanges, 0);
        }
    }

    /** Brings the device's routes to the counts: one batch of changes, then a retry if some failed. */
    private void applyChanges() {
        scheduled.set(false);
        List<Change> changes = new ArrayList<>();
        synchronized (this) {
            if (closed) {
                return;
            }
            for (IpPrefix p : counts.keySet()) {
                if (!routed.contains(p)) {
                    changes.add(new Change(p, true));
                }
            }
            for (IpPrefix p : routed) {
                if (!counts.containsKey(p)) {
                    changes.add(new Change(p, false));
                }
            }
        }
        if (changes.isEmpty()) {
            return;
        }
        Collection<Change> failed;
        try {
            failed = applier.apply(changes);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // closing
            return;
        } catch (RuntimeException e) {
            LOG.warn("route changes through the TUN device failed: {}", e.toString());
            failed = changes;
        }
        long retry;
        synchronized (this) {
            for (Change c : changes) {
                if (failed.contains(c)) {
                    continue;
                }
                if (c.add()) {
                    routed.add(c.prefix());
                    added.increment();
                } else {
                    routed.remove(c.prefix());
                    removed.increment();
                }
            }
            if (failed.isEmpty()) {
                retryMillis = FIRST_RETRY_MILLIS;
                return;
            }
            failures.add(failed.size());
            retry = retryMillis;
            retryMillis = Math.min(MAX_RETRY_MILLIS, retryMillis * 2);
        }
        LOG.warn("{} of {} route change(s) through the TUN device failed ({}); trying again in {} s", failed.size(),
                changes.size(), failed, retry / 1000.0);
        if (!retryScheduled.getAndSet(true)) {
            scheduler.schedule(() -> {
                retryScheduled.set(false);
                kick();
            }, retry);
        }
    }

    /** The prefixes with an owner's route through the device, as far as this knows. */
    public synchronized Set<IpPrefix> routed() {
        return Set.copyOf(routed);
    }

    /** Routes added so far. */
    public long added() {
        return added.sum();
    }

    /** Routes removed so far. */
    public long removed() {
        return removed.sum();
    }

    /** Route changes that failed (each try counts). */
    public long failures() {
        return failures.sum();
    }

    /** Stops changing routes; those in place stay (they go with the device). */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
        }
        onClose.run();
    }
}
