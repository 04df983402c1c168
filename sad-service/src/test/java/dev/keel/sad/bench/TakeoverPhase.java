package dev.keel.sad.bench;

import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.LeaseSequenceRequest;
import dev.keel.sad.SadNode;
import dev.keel.sad.TestSupport;
import dev.keel.sad.store.OwnedByMember;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@link SadBenchmark}'s takeover phase: member 2 is terminated (a crash: sockets closed, no
 * hand-over) and the time until member 1 owns every SA member 2 owned is measured, with the CPU it
 * took per SA by thread group; alone ({@code --only takeover}) after installing its own SAs.
 */
final class TakeoverPhase {

    private TakeoverPhase() {
    }

    /** Whether the arguments ask for {@code --only takeover}. */
    static boolean requested(String[] args) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("--only")) {
                if (!args[i + 1].equals("takeover")) {
                    throw new IllegalArgumentException("--only: the one phase that runs alone is 'takeover'");
                }
                return true;
            }
        }
        return false;
    }

    /**
     * {@code --only takeover}: installs {@code perMember} SAs owned by each member (through the
     * database API, half inbound), then the takeover phase alone.
     */
    static void installThenRun(SadNode n1, SadNode n2, int perMember, int batch, int inFlight) throws Exception {
        Semaphore window = new Semaphore(inFlight);
        AtomicReference<Throwable> firstError = new AtomicReference<>();
        long t0 = System.nanoTime();
        int count = 2 * perMember;
        for (int start = 0; start < count; start += batch) {
            List<InstallChildSaRequest> items = new ArrayList<>(batch);
            for (int i = start; i < Math.min(count, start + batch); i++) {
                items.add(TestSupport.gcmSa(String.format("tko-%07d", i), 0x2000_0000 + i,
                                i % 2 == 0 ? Direction.DIRECTION_INBOUND : Direction.DIRECTION_OUTBOUND)
                        .setOwnerNodeId((i / 2) % 2 == 0 ? "b1" : "b2").build());
            }
            window.acquire();
            n1.database().installChildSas(items).whenComplete((outcomes, t) -> {
                if (t != null) {
                    firstError.compareAndSet(null, t);
                } else {
                    outcomes.stream().filter(o -> o.error() != null).findFirst()
                            .ifPresent(o -> firstError.compareAndSet(null, o.error()));
                }
                window.release();
            });
        }
        if (!window.tryAcquire(inFlight, 30, TimeUnit.MINUTES) || firstError.get() != null) {
            throw new IllegalStateException("installs for the takeover failed", firstError.get());
        }
        System.out.printf("installed %d SAs (%d per member) in %.1f s%n", count, perMember,
                (System.nanoTime() - t0) / 1e9);
        // A running cluster leases all the time, and every lease is an update event on every member:
        // do some (the full benchmark's lease phase does too), so the event path is not cold JIT-wise.
        Semaphore leases = new Semaphore(inFlight);
        for (int i = 0; i < 20_000; i++) {
            leases.acquire();
            n1.database().leaseSequence(LeaseSequenceRequest.newBuilder()
                            .setSaId(String.format("tko-%07d", 1 + 4 * (i % 1000))).setCount(1024).build())
                    .whenComplete((r, t) -> {
                        if (t != null) {
                            firstError.compareAndSet(null, t);
                        }
                        leases.release();
                    });
        }
        if (!leases.tryAcquire(inFlight, 5, TimeUnit.MINUTES) || firstError.get() != null) {
            throw new IllegalStateException("leases before the takeover failed", firstError.get());
        }
        // The members' Watch hubs apply the installs' events after the installs returned: wait until
        // both logs are still for a second, so that backlog is not counted as takeover CPU.
        long settleDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        long last = -1;
        while (System.nanoTime() < settleDeadline) {
            long now = n1.events().revision() + n2.events().revision();
            if (now == last) {
                break;
            }
            last = now;
            Thread.sleep(1_000);
        }
        run(n1, n2);
    }

    /** Crash of member 2 (terminate: sockets closed, no graceful hand-over) and takeover of its SAs. */
    static void run(SadNode n1, SadNode n2) throws Exception {
        String gone = n2.cluster().memberUuid();
        var owned = new OwnedByMember(gone);
        int count = n1.cluster().childSas().keySet(owned).size();
        long done = n1.keeper().takeoversDone();
        var split = cpuByThread();
        long gc0 = gcMillis();
        long cpu0 = SadBenchmark.cpuNanos();
        long t0 = System.nanoTime();
        n2.cluster().hazelcast().getLifecycleService().terminate();
        long deadline = t0 + TimeUnit.SECONDS.toNanos(120);
        // Poll only cheap state while the takeover runs: a query over every record each 20 ms (what
        // this benchmark did before) competed with the takeover for the CPU it measures.
        long leftAt = -1;
        while (n1.keeper().takeoversDone() == done && System.nanoTime() < deadline) {
            if (leftAt < 0 && n1.cluster().hazelcast().getCluster().getMembers().size() == 1) {
                leftAt = System.nanoTime() - t0;
            }
            Thread.sleep(5);
        }
        long reowned = System.nanoTime() - t0;
        double cpuMs = (SadBenchmark.cpuNanos() - cpu0) / 1e6;
        int left = n1.cluster().childSas().keySet(owned).size();
        System.out.printf("takeover: member 2 terminated owning %d SAs; survivor saw it leave after %s ms; all re-owned "
                + "%d ms after the terminate (takeover pass %d ms; %d SAs still on the dead member); CPU %.0f ms (%s)%n",
                count, leftAt < 0 ? "<5" : Long.toString(leftAt / 1_000_000), reowned / 1_000_000,
                n1.keeper().lastTakeoverMillis(), left, cpuMs, SadBenchmark.load());
        System.out.printf("  GC during the takeover: %d ms of collection time%n", gcMillis() - gc0);
        printTakeoverCpuSplit(split, cpu0, count);
    }

    private static long gcMillis() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream()
                .mapToLong(GarbageCollectorMXBean::getCollectionTime).sum();
    }

    /** CPU time per live thread id, ns (member 2's threads end with it, so groups are compared per thread). */
    private static Map<Long, Long> cpuByThread() {
        var threads = ManagementFactory.getThreadMXBean();
        Map<Long, Long> out = new HashMap<>();
        for (long id : threads.getAllThreadIds()) {
            out.put(id, threads.getThreadCpuTime(id));
        }
        return out;
    }

    /** CPU per SA since {@code before} by thread group, threads that ended and the VM folded into one line. */
    private static void printTakeoverCpuSplit(Map<Long, Long> before, long processCpu0, int sas) {
        var threads = ManagementFactory.getThreadMXBean();
        Map<String, Long> groups = new TreeMap<>();
        long javaThreads = 0;
        for (long id : threads.getAllThreadIds()) {
            var info = threads.getThreadInfo(id);
            long t = threads.getThreadCpuTime(id);
            if (info == null || t < 0) {
                continue;
            }
            long d = t - Math.max(0, before.getOrDefault(id, 0L));
            groups.merge(info.getThreadName().replaceAll("\\d+", "N"), d, Long::sum);
            javaThreads += d;
        }
        groups.put("(VM: GC, JIT; threads that ended)", SadBenchmark.cpuNanos() - processCpu0 - javaThreads);
        StringBuilder b = new StringBuilder("  CPU per SA taken over by thread group (us):");
        groups.entrySet().stream()
                .filter(e -> e.getValue() / 1e3 / sas >= 1)
                .sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
                .forEach(e -> b.append(String.format(" %s %.0f;", e.getKey(), e.getValue() / 1e3 / sas)));
        System.out.println(b);
    }
}
