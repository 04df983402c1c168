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
 *   <li>a warm-up through both batch paths until the JIT compilers use less than
 *       {@code --jit-share} of the CPU, then the measured steady-state phases: InstallChildSas
 *       over gRPC and SaDatabase.installChildSas, each with CPU per install split by thread group
 *       (JIT and GC threads apart) and allocation per install; a TARGET line with both figures;</li>
 *   <li>memory per SA: heap used after full GCs, before and after installing N SAs through the
 *       database API, divided by N. The heap holds both members, so this is the whole
 *       cluster's cost per SA (primary + synchronous backup + SPI binding).</li>
 *   <li>takeover ({@link TakeoverPhase}): member 2 is terminated (a crash: sockets closed, no
 *       hand-over) and the time until member 1 owns every SA member 2 owned is measured.</li>
 * </ol>
 * {@code --only ike} measures IKE SA writes instead ({@link IkeUpsertPhase}).
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
        int warmupInstalls = intArg(args, "--warmup-installs", 5_000);
        int warmupWindows = intArg(args, "--warmup-windows", 16);
        double jitShare = Double.parseDouble(stringArg(args, "--jit-share", "0.05"));
        boolean skipTakeover = Arrays.asList(args).contains("--no-takeover");
        Path dir = Files.createTempDirectory("keel-sad-bench");
        Path kek = TestSupport.kekFile(dir);
        String cluster = TestSupport.uniqueCluster();
        int p1 = TestSupport.freePort();
        int p2 = TestSupport.freePort();
        SadConfig.Builder b1 = TestSupport.config("b1", cluster, kek, p1, List.of(p1, p2));
        SadConfig.Builder b2 = TestSupport.config("b2", cluster, kek, p2, List.of(p1, p2));
        b1.partitionCount = b2.partitionCount = 271;
        // The maintenance pass scans every record (cost grows with the SA count, not the install
        // rate): every 5 s (the default) over the warm-up's SAs it would be a share of every
        // measured install phase. Measured apart (the "one maintenance pass" figure).
        b1.maintenanceIntervalMillis = b2.maintenanceIntervalMillis = intArg(args, "--maintenance-ms", 60_000);
        System.out.printf("machine: %d CPUs, %s %s, java %s, max heap %d MiB; command args: %s%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
                System.getProperty("os.arch"), System.getProperty("java.version"),
                Runtime.getRuntime().maxMemory() >> 20, String.join(" ", args));
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
                // A starved machine (seconds without CPU) can make the members suspect each other,
                // split and merge; a phase that saw that measured migrations, not installs.
                n1.cluster().hazelcast().getCluster().addMembershipListener(new com.hazelcast.cluster.MembershipListener() {
                    @Override
                    public void memberAdded(com.hazelcast.cluster.MembershipEvent e) {
                        MEMBERSHIP_CHANGES.incrementAndGet();
                    }

                    @Override
                    public void memberRemoved(com.hazelcast.cluster.MembershipEvent e) {
                        MEMBERSHIP_CHANGES.incrementAndGet();
                    }
                });
                if (IkeUpsertPhase.requested(args)) {
                    IkeUpsertPhase.run(ch, intArg(args, "--ike-sas", 10_000), inFlight);
                    return;
                }
                if (TakeoverPhase.requested(args)) {
                    TakeoverPhase.installThenRun(n1, n2, intArg(args, "--takeover-sas", 50_000), batch, batchesInFlight);
                    return;
                }
                if (leaseCalls > 0) {
                    leaseLatency(ch, leaseCalls);
                }
                if (unaryInstalls > 0) {
                    installRate(ch, unaryInstalls, inFlight);
                }
                warmUp(ch, n1, warmupInstalls, warmupWindows, jitShare, batch, batchesInFlight);
                Result grpc = installBatchRate(ch, "bench-batch-", installs, batch, batchesInFlight, true);
                Result api = memoryPerSa(n1, memorySas, heapBase, batch, batchesInFlight);
                System.out.printf("TARGET (issue 3, >= 10,000 installs/s on a two-member cluster), steady state: "
                        + "InstallChildSas over gRPC %.0f installs/s, %.0f us CPU per install (%.0f without the JIT "
                        + "compilers); SaDatabase.installChildSas %.0f installs/s, %.0f us CPU per install (%.0f without "
                        + "the JIT compilers)%n", grpc.rate(), grpc.cpuUs(), grpc.cpuUs() - grpc.jitUs(), api.rate(),
                        api.cpuUs(), api.cpuUs() - api.jitUs());
                if (!skipTakeover) {
                    TakeoverPhase.run(n1, n2);
                }
            } finally {
                ch.shutdownNow();
            }
        }
    }

    /** Installs per second and CPU microseconds per install of one measured phase. */
    record Result(double rate, double cpuUs, double jitUs) {

        static Result of(Sample a, Sample b, int ops) {
            return new Result(ops / ((b.wallNanos() - a.wallNanos()) / 1e9), (b.cpuNanos() - a.cpuNanos()) / 1e3 / ops,
                    (b.jitNanos() - a.jitNanos()) / 1e3 / ops);
        }
    }

    /** Members joining or leaving member 1's view since the cluster formed. */
    private static final AtomicInteger MEMBERSHIP_CHANGES = new AtomicInteger();

    /** A warning for a phase during which the cluster's membership changed, else "". */
    private static String membershipWarning(int changesBefore) {
        int n = MEMBERSHIP_CHANGES.get() - changesBefore;
        return n == 0 ? "" : String.format("%n  INVALID PHASE: the cluster's membership changed %d times during it (members "
                + "suspected each other on a starved machine: split and merge); its figures include partition migration", n);
    }

    /** Next inbound SPI of any phase: every SA this benchmark installs has its own. */
    private static int nextSpi = 0x1000_0000;

    /**
     * Installs through both paths (gRPC batches and the API) in windows of {@code perWindow} SAs
     * each until the JIT compiler threads used less than {@code jitShare} of the process CPU in a
     * window (at most {@code maxWindows}): a sad-service runs for days, its compilers idle; a
     * measured phase that starts cold counts C2 compiling the install path as install cost.
     */
    private static void warmUp(ManagedChannel ch, SadNode n1, int perWindow, int maxWindows, double jitShare, int batch,
            int inFlight) throws Exception {
        if (perWindow <= 0 || maxWindows <= 0) {
            System.out.println("warm-up: none");
            return;
        }
        long t0 = System.nanoTime();
        int total = 0;
        for (int w = 0; w < maxWindows; w++) {
            Sample a = Sample.now();
            installBatchRate(ch, "warm-g" + w + "-", perWindow, batch, inFlight, false);
            // owned by b1, so the takeover phase moves only the memory phase's b2 SAs, as before
            apiInstalls(n1, "warm-a" + w + "-", perWindow, batch, inFlight, false);
            Sample b = Sample.now();
            total += 2 * perWindow;
            double share = b.jitShareSince(a);
            System.out.printf("warm-up window %d: %d installs (gRPC + API), %.0f us CPU each, JIT compilers %.1f%% of it, "
                    + "GC threads %.1f%%%n", w + 1, 2 * perWindow, (b.cpuNanos() - a.cpuNanos()) / 1e3 / (2 * perWindow),
                    100 * share, 100.0 * (b.gcNanos() - a.gcNanos()) / Math.max(1, b.cpuNanos() - a.cpuNanos()));
            if (share < jitShare) {
                break;
            }
        }
        System.out.printf("warm-up: %d installs in %.1f s (%s)%n", total, (System.nanoTime() - t0) / 1e9, load());
    }

    /**
     * Installs {@code count} SAs through SaDatabase.installChildSas, batches of {@code batch}; fails
     * on any refusal. The requests are built before the measured window opens (as the gRPC phase's
     * are): the samples returned bracket the installs alone.
     */
    private static Sample[] apiInstalls(SadNode n1, String prefix, int count, int batch, int inFlight, boolean spreadOwners)
            throws Exception {
        Semaphore window = new Semaphore(inFlight);
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<Throwable> firstError = new AtomicReference<>();
        List<List<InstallChildSaRequest>> batches = new ArrayList<>();
        for (int start = 0; start < count; start += batch) {
            List<InstallChildSaRequest> items = new ArrayList<>(batch);
            for (int i = start; i < Math.min(count, start + batch); i++) {
                items.add(TestSupport.gcmSa(String.format("%s%07d", prefix, i), nextSpi++,
                                i % 2 == 0 ? Direction.DIRECTION_INBOUND : Direction.DIRECTION_OUTBOUND)
                        .setOwnerNodeId(spreadOwners && (i / 2) % 2 != 0 ? "b2" : "b1").build());
            }
            batches.add(items);
        }
        Sample s0 = Sample.now();
        for (List<InstallChildSaRequest> items : batches) {
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
        Sample s1 = Sample.now();
        window.release(inFlight);
        if (failed.get() > 0) {
            throw new IllegalStateException(failed.get() + " installs failed", firstError.get());
        }
        return new Sample[] {s0, s1};
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
            reqs.add(TestSupport.gcmSa("bench-install-" + i, nextSpi++,
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
    private static Result installBatchRate(ManagedChannel ch, String prefix, int count, int batch, int inFlight,
            boolean print) throws Exception {
        SaServiceGrpc.SaServiceFutureStub s = SaServiceGrpc.newFutureStub(ch);
        List<InstallChildSasRequest> reqs = new ArrayList<>();
        InstallChildSasRequest.Builder b = InstallChildSasRequest.newBuilder();
        for (int i = 0; i < count; i++) {
            b.addItems(TestSupport.gcmSa(prefix + i, nextSpi++,
                    i % 2 == 0 ? Direction.DIRECTION_INBOUND : Direction.DIRECTION_OUTBOUND).build());
            if (b.getItemsCount() == batch || i == count - 1) {
                reqs.add(b.build());
                b = InstallChildSasRequest.newBuilder();
            }
        }
        Semaphore window = new Semaphore(inFlight);
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<String> firstError = new AtomicReference<>();
        int changes0 = MEMBERSHIP_CHANGES.get();
        Sample s0 = Sample.now();
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
        Sample s1 = Sample.now();
        double secs = (s1.wallNanos() - s0.wallNanos()) / 1e9;
        double cpuUs = (s1.cpuNanos() - s0.cpuNanos()) / 1e3 / count;
        if (failed.get() > 0 && !print) {
            throw new IllegalStateException(failed.get() + " installs failed: " + firstError.get());
        }
        if (print) {
            System.out.printf("CHILD SA installs over gRPC, InstallChildSas batches of %d, %d batches in flight, %d SAs: "
                    + "%.0f installs/s (%d failed%s); CPU %.0f us per install = %.0f installs/s per fully available core "
                    + "(%s)%s%n", batch, inFlight, count, count / secs, failed.get(),
                    firstError.get() == null ? "" : ": " + firstError.get(), cpuUs, 1e6 / cpuUs, load(),
                    membershipWarning(changes0));
            printSplit(s0, s1, count);
        }
        return Result.of(s0, s1, count);
    }

    /** Installs through the API (measured, after the warm-up) and the heap they take. */
    private static Result memoryPerSa(SadNode n1, int count, long heapBase, int batch, int inFlight) throws Exception {
        long before = usedHeapAfterGc();
        int changes0 = MEMBERSHIP_CHANGES.get();
        Sample[] s = apiInstalls(n1, "mem-", count, batch, inFlight, true);
        Sample s0 = s[0];
        Sample s1 = s[1];
        double secs = (s1.wallNanos() - s0.wallNanos()) / 1e9;
        double cpuUs = (s1.cpuNanos() - s0.cpuNanos()) / 1e3 / count;
        long after = usedHeapAfterGc();
        int stored = n1.cluster().childSas().size();
        n1.keeper().runNow();
        long pass = n1.keeper().lastPassMillis();
        System.out.printf("installs through the database API (SaDatabase.installChildSas, batches of %d, %d in flight): %d SAs in %.1f s = %.0f installs/s; "
                + "CPU %.0f us per install = %.0f installs/s per fully available core (%s)%s%n", batch, inFlight, count, secs,
                count / secs, cpuUs, 1e6 / cpuUs, load(), membershipWarning(changes0));
        printSplit(s0, s1, count);
        System.out.printf("memory: heap used %d MiB -> %d MiB (both members, %d MiB before the cluster started); "
                + "%.0f bytes per SA across the two-member cluster (%d records in the map); "
                + "one maintenance pass over them: %d ms%n",
                before >> 20, after >> 20, heapBase >> 20, (after - before) / (double) count, stored, pass);
        return Result.of(s0, s1, count);
    }

    /**
     * Where the process's CPU and allocation stand at one moment: Java threads by group (digits in
     * names folded; ThreadMXBean), the JVM's own threads read from /proc/self/task (JIT compiler
     * threads, GC threads: they have no Java thread), the process total, bytes allocated by all
     * threads, and the collectors' counts and pause times.
     */
    record Sample(long wallNanos, long cpuNanos, java.util.Map<String, Long> javaCpu, long jitNanos, long gcNanos,
            long allocatedBytes, java.util.Map<String, Long> javaAlloc, long gcCount, long gcMillis) {

        static Sample now() {
            var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            java.util.Map<String, Long> cpu = new java.util.TreeMap<>();
            java.util.Map<String, Long> alloc = new java.util.TreeMap<>();
            for (long id : threads.getAllThreadIds()) {
                var info = threads.getThreadInfo(id);
                long t = threads.getThreadCpuTime(id);
                long a = threads.getThreadAllocatedBytes(id);
                if (info == null || t < 0) {
                    continue;
                }
                String group = info.getThreadName().replaceAll("\\d+", "N").replaceAll("keel-sad-bN-N", "");
                cpu.merge(group, t, Long::sum);
                if (a > 0) {
                    alloc.merge(group, a, Long::sum);
                }
            }
            long jit = 0;
            long gc = 0;
            try (var tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path task : (Iterable<Path>) tasks::iterator) {
                    try {
                        String comm = Files.readString(task.resolve("comm")).strip();
                        boolean isJit = comm.startsWith("C1 Compiler") || comm.startsWith("C2 Compiler");
                        boolean isGc = comm.startsWith("GC Thread") || comm.startsWith("G1 ");
                        if (isJit || isGc) {
                            // schedstat's first field: time on the CPU, ns
                            long ns = Long.parseLong(Files.readString(task.resolve("schedstat")).split(" ")[0]);
                            if (isJit) {
                                jit += ns;
                            } else {
                                gc += ns;
                            }
                        }
                    } catch (java.io.IOException | RuntimeException e) {
                        // the thread ended between the listing and the read
                    }
                }
            } catch (java.io.IOException e) {
                // no /proc: the split shows all VM time as "other"
            }
            long gcCount = 0;
            long gcMillis = 0;
            for (var g : ManagementFactory.getGarbageCollectorMXBeans()) {
                gcCount += Math.max(0, g.getCollectionCount());
                gcMillis += Math.max(0, g.getCollectionTime());
            }
            return new Sample(System.nanoTime(), SadBenchmark.cpuNanos(), cpu, jit, gc, threads.getTotalThreadAllocatedBytes(),
                    alloc, gcCount, gcMillis);
        }

        long javaCpuTotal() {
            return javaCpu.values().stream().mapToLong(Long::longValue).sum();
        }

        /** The JIT compilers' share of the process CPU since {@code before}. */
        double jitShareSince(Sample before) {
            long all = cpuNanos - before.cpuNanos;
            return all <= 0 ? 0 : (jitNanos - before.jitNanos) / (double) all;
        }
    }

    /**
     * Prints where the CPU and the allocation of a phase went, per operation, largest first: the
     * Java thread groups, then the JVM's JIT and GC threads and the rest of the VM (other VM
     * threads, threads that exited during the phase).
     */
    private static void printSplit(Sample a, Sample b, int ops) {
        java.util.Map<String, Long> cpu = new java.util.HashMap<>();
        b.javaCpu().forEach((k, v) -> cpu.put(k, v - a.javaCpu().getOrDefault(k, 0L)));
        long jit = b.jitNanos() - a.jitNanos();
        long gc = b.gcNanos() - a.gcNanos();
        cpu.put("(VM: JIT compilers)", jit);
        cpu.put("(VM: GC threads)", gc);
        cpu.put("(VM: other, exited threads)", (b.cpuNanos() - a.cpuNanos()) - (b.javaCpuTotal() - a.javaCpuTotal()) - jit - gc);
        StringBuilder line = new StringBuilder("  CPU per install by thread group (us):");
        cpu.entrySet().stream().filter(e -> e.getValue() / 1e3 / ops >= 2)
                .sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
                .forEach(e -> line.append(String.format(" %s %.0f;", e.getKey(), e.getValue() / 1e3 / ops)));
        System.out.println(line);
        StringBuilder alloc = new StringBuilder(String.format(
                "  allocation per install: %.1f KB in all (%d GCs, %d ms of pauses in the phase); by thread group (KB):",
                (b.allocatedBytes() - a.allocatedBytes()) / 1e3 / ops, b.gcCount() - a.gcCount(), b.gcMillis() - a.gcMillis()));
        b.javaAlloc().entrySet().stream()
                .map(e -> java.util.Map.entry(e.getKey(), e.getValue() - a.javaAlloc().getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() / 1e3 / ops >= 0.1)
                .sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
                .forEach(e -> alloc.append(String.format(" %s %.1f;", e.getKey(), e.getValue() / 1e3 / ops)));
        System.out.println(alloc);
    }

    /** CPU time this process used so far (all threads, both members, client and server), ns. */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    static String load() {
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

    private static String stringArg(String[] args, String name, String def) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return def;
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
