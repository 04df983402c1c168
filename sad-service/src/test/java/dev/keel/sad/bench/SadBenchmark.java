package dev.keel.sad.bench;

import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.InstallChildSaResponse;
import dev.keel.proto.v1.InstallChildSaResult;
import dev.keel.proto.v1.InstallChildSasRequest;
import dev.keel.proto.v1.InstallChildSasResponse;
import dev.keel.proto.v1.LeaseSequenceRequest;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.sad.SadConfig;
import dev.keel.sad.SadNode;
import dev.keel.sad.TestSupport;
import dev.keel.sad.store.OwnedByMember;
import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * sad-service figures on a two-member cluster (both members in this JVM, gRPC over loopback
 * TCP with Netty). Run with {@code sad-service/bench.sh}; prints one line per figure.
 *
 * <ol>
 *   <li>lease round trip: sequential LeaseSequence calls from one client to the SA's owner,
 *       p50 / p99 / p99.9 after a warm-up;</li>
 *   <li>installs per second: InstallChildSa over gRPC with a bounded number in flight
 *       (half inbound with SPI binding, half outbound);</li>
 *   <li>memory per SA: heap used after full GCs, before and after installing N SAs through the
 *       database API, divided by N. The heap holds both members, so this is the whole
 *       cluster's cost per SA (primary + synchronous backup + SPI binding).</li>
 *   <li>takeover: member 2 is terminated (a crash: sockets closed, no hand-over) and the time
 *       until member 1 owns every SA member 2 owned is measured.</li>
 * </ol>
 */
public final class SadBenchmark {

    public static void main(String[] args) throws Exception {
        int leaseCalls = intArg(args, "--lease-calls", 20_000);
        int installs = intArg(args, "--installs", 20_000);
        int inFlight = intArg(args, "--in-flight", 64);
        int memorySas = intArg(args, "--memory-sas", 100_000);
        int batch = intArg(args, "--batch", 250);
        int batchesInFlight = intArg(args, "--batches-in-flight", 4);
        int unaryInstalls = intArg(args, "--unary-installs", 5_000);
        Path dir = Files.createTempDirectory("keel-sad-bench");
        Path kek = TestSupport.kekFile(dir);
        String cluster = TestSupport.uniqueCluster();
        int p1 = TestSupport.freePort();
        int p2 = TestSupport.freePort();
        SadConfig.Builder b1 = TestSupport.config("b1", cluster, kek, p1, List.of(p1, p2));
        SadConfig.Builder b2 = TestSupport.config("b2", cluster, kek, p2, List.of(p1, p2));
        b1.partitionCount = b2.partitionCount = 271;
        b1.maintenanceIntervalMillis = b2.maintenanceIntervalMillis = 5_000;
        System.out.printf("machine: %d CPUs, %s %s, java %s, max heap %d MiB%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
                System.getProperty("os.arch"), System.getProperty("java.version"),
                Runtime.getRuntime().maxMemory() >> 20);
        long heapBase = usedHeapAfterGc();
        try (SadNode n1 = SadNode.start(b1.build(), NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)));
                SadNode n2 = SadNode.start(b2.build(), null)) {
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", n1.grpcPort()).usePlaintext().build();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (n1.cluster().hazelcast().getCluster().getMembers().size() < 2) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("the two members did not form a cluster in 60 s");
                    }
                    Thread.sleep(50);
                }
                if (onlyTakeover(args)) {
                    takeoverOnly(n1, n2, intArg(args, "--takeover-sas", 50_000), batch, batchesInFlight);
                    return;
                }
                leaseLatency(ch, leaseCalls);
                installRate(ch, unaryInstalls, inFlight);
                installBatchRate(ch, installs, batch, batchesInFlight);
                memoryPerSa(n1, memorySas, heapBase, batch, batchesInFlight);
                takeover(n1, n2);
            } finally {
                ch.shutdownNow();
            }
        }
    }

    private static void leaseLatency(ManagedChannel ch, int calls) {
        SaServiceGrpc.SaServiceBlockingStub s = SaServiceGrpc.newBlockingStub(ch);
        s.installChildSa(TestSupport.gcmSa("bench-lease", 0x100, Direction.DIRECTION_OUTBOUND).build());
        LeaseSequenceRequest req = LeaseSequenceRequest.newBuilder().setSaId("bench-lease").setCount(1024).build();
        for (int i = 0; i < Math.min(5_000, calls); i++) {
            s.leaseSequence(req);
        }
        long[] ns = new long[calls];
        long cpu0 = cpuNanos();
        long t0 = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            long a = System.nanoTime();
            s.leaseSequence(req);
            ns[i] = System.nanoTime() - a;
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        double cpuUs = (cpuNanos() - cpu0) / 1e3 / calls;
        Arrays.sort(ns);
        System.out.printf("lease round trip over gRPC (loopback, sync backup), %d calls: p50 %.0f us, p99 %.0f us, "
                + "p99.9 %.0f us, %.0f leases/s sequential; CPU %.0f us per lease (%s)%n", calls, ns[calls / 2] / 1e3,
                ns[(int) (calls * 0.99)] / 1e3, ns[(int) (calls * 0.999)] / 1e3, calls / secs, cpuUs, load());
    }

    private static void installRate(ManagedChannel ch, int count, int inFlight) throws Exception {
        SaServiceGrpc.SaServiceFutureStub s = SaServiceGrpc.newFutureStub(ch);
        List<InstallChildSaRequest> reqs = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            reqs.add(TestSupport.gcmSa("bench-install-" + i, 0x1000_0000 + i,
                    i % 2 == 0 ? Direction.DIRECTION_INBOUND : Direction.DIRECTION_OUTBOUND).build());
        }
        Semaphore window = new Semaphore(inFlight);
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<Throwable> firstError = new AtomicReference<>();
        long cpu0 = cpuNanos();
        long t0 = System.nanoTime();
        for (InstallChildSaRequest r : reqs) {
            window.acquire();
            ListenableFuture<InstallChildSaResponse> f = s.installChildSa(r);
            f.addListener(() -> {
                try {
                    f.get();
                } catch (Exception e) {
                    failed.incrementAndGet();
                    firstError.compareAndSet(null, e);
                }
                window.release();
            }, Runnable::run);
        }
        window.acquire(inFlight);
        double secs = (System.nanoTime() - t0) / 1e9;
        double cpuUs = (cpuNanos() - cpu0) / 1e3 / count;
        System.out.printf("CHILD SA installs over gRPC, %d SAs (half inbound with SPI binding), %d in flight: "
                + "%.0f installs/s (%d failed%s); CPU %.0f us per install = %.0f installs/s per fully available core "
                + "(%s)%n", count, inFlight, count / secs, failed.get(),
                firstError.get() == null ? "" : ": " + firstError.get(), cpuUs, 1e6 / cpuUs, load());
    }

    /** InstallChildSas: batches of {@code batch} SAs, {@code inFlight} batches outstanding. */
    private static void installBatchRate(ManagedChannel ch, int count, int batch, int inFlight) throws Exception {
        SaServiceGrpc.SaServiceFutureStub s = SaServiceGrpc.newFutureStub(ch);
        List<InstallChildSasRequest> reqs = new ArrayList<>();
        InstallChildSasRequest.Builder b = InstallChildSasRequest.newBuilder();
        for (int i = 0; i < count; i++) {
            b.addItems(TestSupport.gcmSa("bench-batch-" + i, 0x3000_0000 + i,
                    i % 2 == 0 ? Direction.DIRECTION_INBOUND : Direction.DIRECTION_OUTBOUND).build());
            if (b.getItemsCount() == batch || i == count - 1) {
                reqs.add(b.build());
                b = InstallChildSasRequest.newBuilder();
            }
        }
        Semaphore window = new Semaphore(inFlight);
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<String> firstError = new AtomicReference<>();
        var split = cpuByGroup();
        long cpu0 = cpuNanos();
        long t0 = System.nanoTime();
        for (InstallChildSasRequest r : reqs) {
            window.acquire();
            ListenableFuture<InstallChildSasResponse> f = s.installChildSas(r);
            f.addListener(() -> {
                try {
                    for (InstallChildSaResult res : f.get().getResultsList()) {
                        if (res.getCode() != 0) {
                            failed.incrementAndGet();
                            firstError.compareAndSet(null, res.getMessage());
                        }
                    }
                } catch (Exception e) {
                    failed.addAndGet(r.getItemsCount());
                    firstError.compareAndSet(null, e.toString());
                }
                window.release();
            }, Runnable::run);
        }
        window.acquire(inFlight);
        double secs = (System.nanoTime() - t0) / 1e9;
        double cpuUs = (cpuNanos() - cpu0) / 1e3 / count;
        System.out.printf("CHILD SA installs over gRPC, InstallChildSas batches of %d, %d batches in flight, %d SAs: "
                + "%.0f installs/s (%d failed%s); CPU %.0f us per install = %.0f installs/s per fully available core "
                + "(%s)%n", batch, inFlight, count, count / secs, failed.get(),
                firstError.get() == null ? "" : ": " + firstError.get(), cpuUs, 1e6 / cpuUs, load());
        printCpuSplit(split, count);
    }

    private static void memoryPerSa(SadNode n1, int count, long heapBase, int batch, int inFlight) throws Exception {
        long before = usedHeapAfterGc();
        Semaphore window = new Semaphore(inFlight);
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<Throwable> firstError = new AtomicReference<>();
        // Batches through SaDatabase.installChildSas (what InstallChildSas runs), batchesInFlight outstanding.
        var split = cpuByGroup();
        long cpu0 = cpuNanos();
        long t0 = System.nanoTime();
        for (int start = 0; start < count; start += batch) {
            List<InstallChildSaRequest> items = new ArrayList<>(batch);
            for (int i = start; i < Math.min(count, start + batch); i++) {
                items.add(TestSupport.gcmSa(String.format("mem-%07d", i), 0x2000_0000 + i,
                                i % 2 == 0 ? Direction.DIRECTION_INBOUND : Direction.DIRECTION_OUTBOUND)
                        .setOwnerNodeId((i / 2) % 2 == 0 ? "b1" : "b2").build());
            }
            window.acquire();
            n1.database().installChildSas(items).whenComplete((outcomes, t) -> {
                if (t != null) {
                    failed.addAndGet(items.size());
                    firstError.compareAndSet(null, t);
                } else {
                    for (var o : outcomes) {
                        if (o.error() != null) {
                            failed.incrementAndGet();
                            firstError.compareAndSet(null, o.error());
                        }
                    }
                }
                window.release();
            });
        }
        if (!window.tryAcquire(inFlight, 30, TimeUnit.MINUTES)) {
            throw new IllegalStateException("installs did not finish");
        }
        if (failed.get() > 0) {
            throw new IllegalStateException(failed.get() + " installs failed", firstError.get());
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        double cpuUs = (cpuNanos() - cpu0) / 1e3 / count;
        var splitAfter = cpuByGroup();
        long after = usedHeapAfterGc();
        int stored = n1.cluster().childSas().size();
        n1.keeper().runNow();
        long pass = n1.keeper().lastPassMillis();
        System.out.printf("installs through the database API (SaDatabase.installChildSas, batches of %d, %d in flight): %d SAs in %.1f s = %.0f installs/s; "
                + "CPU %.0f us per install = %.0f installs/s per fully available core (%s)%n", batch, inFlight, count, secs, count / secs,
                cpuUs, 1e6 / cpuUs, load());
        printCpuSplit(split, splitAfter, count);
        System.out.printf("memory: heap used %d MiB -> %d MiB (both members, %d MiB before the cluster started); "
                + "%.0f bytes per SA across the two-member cluster (%d records in the map); "
                + "one maintenance pass over them: %d ms%n",
                before >> 20, after >> 20, heapBase >> 20, (after - before) / (double) count, stored, pass);
    }

    private static boolean onlyTakeover(String[] args) {
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
    private static void takeoverOnly(SadNode n1, SadNode n2, int perMember, int batch, int inFlight) throws Exception {
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
        takeover(n1, n2);
    }

    /** Crash of member 2 (terminate: sockets closed, no graceful hand-over) and takeover of its SAs. */
    private static void takeover(SadNode n1, SadNode n2) throws Exception {
        String gone = n2.cluster().memberUuid();
        var owned = new OwnedByMember(gone);
        int count = n1.cluster().childSas().keySet(owned).size();
        long done = n1.keeper().takeoversDone();
        var split = cpuByThread();
        long gc0 = gcMillis();
        long cpu0 = cpuNanos();
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
        double cpuMs = (cpuNanos() - cpu0) / 1e6;
        int left = n1.cluster().childSas().keySet(owned).size();
        System.out.printf("takeover: member 2 terminated owning %d SAs; survivor saw it leave after %s ms; all re-owned "
                + "%d ms after the terminate (takeover pass %d ms; %d SAs still on the dead member); CPU %.0f ms (%s)%n",
                count, leftAt < 0 ? "<5" : Long.toString(leftAt / 1_000_000), reowned / 1_000_000,
                n1.keeper().lastTakeoverMillis(), left, cpuMs, load());
        System.out.printf("  GC during the takeover: %d ms of collection time%n", gcMillis() - gc0);
        printTakeoverCpuSplit(split, cpu0, count);
    }

    private static long gcMillis() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream()
                .mapToLong(java.lang.management.GarbageCollectorMXBean::getCollectionTime).sum();
    }

    /** CPU time per live thread id, ns (member 2's threads end with it, so groups are compared per thread). */
    private static java.util.Map<Long, Long> cpuByThread() {
        var threads = ManagementFactory.getThreadMXBean();
        java.util.Map<Long, Long> out = new java.util.HashMap<>();
        for (long id : threads.getAllThreadIds()) {
            out.put(id, threads.getThreadCpuTime(id));
        }
        return out;
    }

    /** CPU per SA since {@code before} by thread group, threads that ended and the VM folded into one line. */
    private static void printTakeoverCpuSplit(java.util.Map<Long, Long> before, long processCpu0, int sas) {
        var threads = ManagementFactory.getThreadMXBean();
        java.util.Map<String, Long> groups = new java.util.TreeMap<>();
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
        groups.put("(VM: GC, JIT; threads that ended)", cpuNanos() - processCpu0 - javaThreads);
        StringBuilder b = new StringBuilder("  CPU per SA taken over by thread group (us):");
        groups.entrySet().stream()
                .filter(e -> e.getValue() / 1e3 / sas >= 1)
                .sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
                .forEach(e -> b.append(String.format(" %s %.0f;", e.getKey(), e.getValue() / 1e3 / sas)));
        System.out.println(b);
    }

    /** CPU time per thread group (digits in thread names folded), ns; "(VM: GC, JIT)" is the rest of the process. */
    private static java.util.Map<String, Long> cpuByGroup() {
        var threads = ManagementFactory.getThreadMXBean();
        java.util.Map<String, Long> out = new java.util.TreeMap<>();
        long javaThreads = 0;
        for (long id : threads.getAllThreadIds()) {
            var info = threads.getThreadInfo(id);
            long t = threads.getThreadCpuTime(id);
            if (info == null || t < 0) {
                continue;
            }
            String group = info.getThreadName().replaceAll("\\d+", "N").replaceAll("keel-sad-bN-N", "");
            out.merge(group, t, Long::sum);
            javaThreads += t;
        }
        out.put("(VM: GC, JIT, exited threads)", cpuNanos() - javaThreads);
        return out;
    }

    /** Prints where the CPU of a phase went, per operation, largest first. */
    private static void printCpuSplit(java.util.Map<String, Long> before, int ops) {
        printCpuSplit(before, cpuByGroup(), ops);
    }

    private static void printCpuSplit(java.util.Map<String, Long> before, java.util.Map<String, Long> after, int ops) {
        StringBuilder b = new StringBuilder("  CPU per install by thread group (us):");
        after.entrySet().stream()
                .map(e -> java.util.Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() / 1e3 / ops >= 2)
                .sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
                .forEach(e -> b.append(String.format(" %s %.0f;", e.getKey(), e.getValue() / 1e3 / ops)));
        System.out.println(b);
    }

    /** CPU time this process used so far (all threads, both members, client and server), ns. */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static String load() {
        return String.format("load average %.1f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(200);
            used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    private static int intArg(String[] args, String name, int def) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return Integer.parseInt(args[i + 1]);
            }
        }
        return def;
    }
}
