package dev.keel.bench.ike;

import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSa;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

/**
 * IKE SA + CHILD SA setup rate, Keel ↔ Keel over real UDP sockets on loopback (PSK,
 * aes256gcm16-prfsha256-x25519, ESP aes256gcm16): the counterpart of charon ↔ charon in
 * bench/ike/charon-setup-rate.sh. Started by bench/ike/keel-setup-rate.sh.
 *
 * <pre>
 *   --role responder --local 127.0.0.2:PORT                 answers until SIGTERM, then prints its line
 *   --role initiator --local 127.0.0.1:0 --peer 127.0.0.2:PORT [--responder-pid PID[,PID...]]
 *   --role both                                              both engines in this JVM (profiling, quick checks)
 *   --nat-t-port 0                                           the initiator's NAT-T socket (a responder that floats to 4500)
 *   --in-flight 64 --warmup 10 --warmup-sas 0 --warmup-jit-share 1 --duration 20 --loops 2 --clk-tck 100
 * </pre>
 *
 * <p>The initiator keeps {@code in-flight} initiations outstanding over a pool of 2 × in-flight
 * identical connections, each initiation a new IKE SA whose CHILD SA comes up in IKE_AUTH (the
 * responder serves them all with one connection, from one peer address). A slot is freed when
 * the CHILD SA is up (as charon's driver frees one on child-updown) or the initiation failed; the
 * IKE SA is then deleted with an INFORMATIONAL exchange, so both engines' tables stay small. After
 * the warm-up (at least {@code warmup} seconds and {@code warmup-sas} SAs, then 5-s windows until
 * the JIT compiler threads used less than {@code warmup-jit-share} of both JVMs' CPU, at most
 * {@code warmup-jit-windows} of them), SAs established during {@code duration} seconds are
 * counted, with the CPU of both JVMs by thread kind; then no new
 * initiations start, the rest drain, and both tables must be empty. One JSON line goes to stdout.
 */
public final class IkeSetupRate {

    private IkeSetupRate() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = options(args);
        String role = o.getOrDefault("role", "both");
        int loops = Integer.parseInt(o.getOrDefault("loops", "2"));
        switch (role) {
            case "responder" -> runResponder(endpoint(o.getOrDefault("local", "127.0.0.2:0")), loops);
            case "initiator" -> runInitiator(o, loops, null);
            case "both" -> {
                try (BenchPeer responder = new BenchPeer(false, endpoint("127.0.0.2:0"), endpoint("127.0.0.1:0"),
                        loops, IkeEvents.NONE)) {
                    o.put("peer", "127.0.0.2:" + responder.sockets.ikePort());
                    runInitiator(o, loops, responder);
                }
            }
            default -> throw new IllegalArgumentException("--role must be initiator, responder or both: " + role);
        }
        System.exit(0);
    }

    // ---- responder ----

    private static void runResponder(InetSocketAddress local, int loops) throws Exception {
        // the initiator binds a free port on 127.0.0.1; the responder matches the peer by address only
        BenchPeer peer = new BenchPeer(false, local, endpoint("127.0.0.1:0"), loops, IkeEvents.NONE);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            waitFor(5_000, () -> peer.engine.ikeSaCount() == 0);
            System.out.println(responderLine(peer));
            System.out.flush();
        }));
        System.out.println("ready " + peer.sockets.ikePort());
        System.out.flush();
        Thread.currentThread().join();
    }

    private static String responderLine(BenchPeer r) {
        var c = r.engine.counters();
        return json(Map.of("role", "responder", "ike_sas_left", r.engine.ikeSaCount(),
                "half_open_left", r.engine.halfOpenCount(), "established", c.establishedCount(),
                "failed", c.failedCount(), "retransmissions", c.retransmissionCount(),
                "retransmitted_requests_answered", c.retransmittedRequests(),
                "blocked_thread_events", r.blockedThreadEvents.sum(),
                "blocked_thread_event_times_ms", r.blockedThreadEventTimes.toString().replace(" ", "")));
    }

    // ---- initiator ----

    private static void runInitiator(Map<String, String> o, int loops, BenchPeer responder) throws Exception {
        int inFlight = Integer.parseInt(o.getOrDefault("in-flight", "64"));
        double warmup = Double.parseDouble(o.getOrDefault("warmup", "10"));
        double duration = Double.parseDouble(o.getOrDefault("duration", "20"));
        long warmupSas = Long.parseLong(o.getOrDefault("warmup-sas", "0"));
        double jitShare = Double.parseDouble(o.getOrDefault("warmup-jit-share", "1"));
        int maxJitWindows = Integer.parseInt(o.getOrDefault("warmup-jit-windows", "60"));
        int clkTck = Integer.parseInt(o.getOrDefault("clk-tck", "100"));
        // the responder's processes (several for Keel's services apart): their CPU counts with ours
        long[] responderPids = java.util.Arrays.stream(o.getOrDefault("responder-pid", "").split(","))
                .filter(x -> !x.isBlank()).mapToLong(Long::parseLong).toArray();
        InetSocketAddress peer = endpoint(o.getOrDefault("peer", "127.0.0.2:500"));
        Load load = new Load();
        int connections = 2 * inFlight;
        try (BenchPeer initiator = new BenchPeer(true, endpoint(o.getOrDefault("local", "127.0.0.1:0")), peer, loops,
                load, connections, Integer.parseInt(o.getOrDefault("nat-t-port", "-1")))) {
            load.engine = initiator.engine;
            for (int i = 0; i < connections; i++) {
                load.free.add(BenchPeer.CONNECTION + "-" + i);
            }
            long start = System.nanoTime();
            for (int i = 0; i < inFlight; i++) {
                load.startOne();
            }
            Thread.sleep((long) (warmup * 1000));
            // on a busy machine the JIT needs CPU time, not wall time: also wait for a number of SAs
            waitFor(300_000, () -> load.ok.sum() >= warmupSas);
            Snapshot warm = Snapshot.take(load, initiator, responder, responderPids);
            // and for the JIT to finish: a gateway runs for hours, its compilers idle; up to 5 s
            // windows until the compiler threads' share of both JVMs' CPU is below jitShare
            int jitWindows = 0;
            while (jitShare < 1 && jitWindows < maxJitWindows) {
                Thread.sleep(5_000);
                Snapshot next = Snapshot.take(load, initiator, responder, responderPids);
                jitWindows++;
                double share = next.share("jit", warm);
                warm = next;
                if (share < jitShare) {
                    break;
                }
            }
            Snapshot a = warm;
            Thread.sleep((long) (duration * 1000));
            Snapshot b = Snapshot.take(load, initiator, responder, responderPids);
            load.stopping = true;
            boolean drained = waitFor(60_000, () -> load.inFlight.get() == 0 && initiator.engine.ikeSaCount() == 0
                    && (responder == null || responder.engine.ikeSaCount() == 0));
            double seconds = (b.nanos - a.nanos) / 1e9;
            long ok = b.ok - a.ok;
            double cpuSeconds = (b.cpuTicksSelf - a.cpuTicksSelf + b.cpuTicksResponder - a.cpuTicksResponder)
                    / (double) clkTck;
            Map<String, Object> line = new TreeMap<>();
            line.put("impl", "keel");
            line.put("jvms", responder == null ? 1 + responderPids.length : 1);
            line.put("in_flight", inFlight);
            line.put("loops_per_jvm", loops);
            line.put("warmup_s", round((a.nanos - start) / 1e9, 1));
            line.put("warmup_sas", a.ok);
            line.put("warmup_jit_windows", jitWindows);
            line.put("seconds", round(seconds, 3));
            line.put("ok", ok);
            line.put("failed", b.failed - a.failed);
            line.put("rate", round(ok / seconds, 1));
            line.put("retransmissions", b.retransmissions - a.retransmissions);
            line.put("cpu_s", round(cpuSeconds, 2));
            line.put("cpu_ms_per_sa", round(1000 * cpuSeconds / Math.max(1, ok), 3));
            line.put("responder_cpu_ms_per_sa", round(1000.0 * (b.cpuTicksResponder - a.cpuTicksResponder) / clkTck
                    / Math.max(1, ok), 3)); // the responder's processes alone (0 with --role both)
            Map<String, Object> byGroup = new TreeMap<>();
            b.byThreadGroup.forEach((group, ticks) -> byGroup.put(group, round(1000.0
                    * (ticks - a.byThreadGroup.getOrDefault(group, 0L)) / clkTck / Math.max(1, ok), 3)));
            line.put("cpu_ms_per_sa_by_thread", byGroup); // both JVMs: event_loops, jit, gc, other
            Map<String, Object> byPid = new TreeMap<>(); // each responder process (the services apart: each service)
            b.byResponderPid.forEach((pid, ticks) -> byPid.put(Long.toString(pid), round(1000.0
                    * (ticks - a.byResponderPid.getOrDefault(pid, 0L)) / clkTck / Math.max(1, ok), 3)));
            line.put("responder_cpu_ms_per_sa_by_pid", byPid);
            line.put("ok_total", load.ok.sum());
            line.put("failed_total", load.failed.sum());
            line.put("deleted_total", load.deleted.sum());
            line.put("drained", drained);
            line.put("ike_sas_left", initiator.engine.ikeSaCount());
            line.put("blocked_thread_events", initiator.blockedThreadEvents.sum()
                    + (responder == null ? 0 : responder.blockedThreadEvents.sum()));
            line.put("window_ms", List.of(a.epochMillis, b.epochMillis).toString().replace(" ", ""));
            line.put("blocked_thread_events_in_window", initiator.blockedThreadEventTimes.stream()
                    .filter(t -> t >= a.epochMillis && t <= b.epochMillis).count()
                    + (responder == null ? 0 : responder.blockedThreadEventTimes.stream()
                            .filter(t -> t >= a.epochMillis && t <= b.epochMillis).count()));
            line.put("elapsed_s", round((System.nanoTime() - start) / 1e9, 1));
            if (responder != null) {
                line.put("responder_ike_sas_left", responder.engine.ikeSaCount());
                line.put("responder_half_open_left", responder.engine.halfOpenCount());
            }
            if (!load.reasons.isEmpty()) {
                line.put("failure_reasons", new TreeMap<>(load.reasons));
            }
            System.out.println(json(line));
            System.out.flush();
        }
    }

    /**
     * Keeps the initiations going and counts their outcomes; deletes every IKE SA once its child is
     * up. Each initiation takes a connection of the pool that has no IKE SA (so it makes a new IKE
     * SA rather than a further CHILD SA of an existing one); the connection returns to the pool when
     * its IKE SA is gone. A slot is freed at CHILD SA up, as in charon's driver.
     */
    private static final class Load implements IkeEvents {
        volatile IkeEngine engine;
        volatile boolean stopping;
        final java.util.Queue<String> free = new java.util.concurrent.ConcurrentLinkedQueue<>();
        final AtomicInteger waitingForConnection = new AtomicInteger();
        final AtomicInteger inFlight = new AtomicInteger();
        final LongAdder ok = new LongAdder();
        final LongAdder failed = new LongAdder();
        final LongAdder deleted = new LongAdder();
        final Map<String, Integer> reasons = new ConcurrentHashMap<>();

        void startOne() {
            String connection = free.poll();
            if (connection == null) { // every connection still has its IKE SA (being deleted): start on the next destroy
                waitingForConnection.incrementAndGet();
                return;
            }
            inFlight.incrementAndGet();
            engine.initiate(connection, BenchPeer.CHILD).whenComplete((sa, error) -> {
                if (error == null) {
                    ok.increment();
                    engine.terminate(sa);
                } else {
                    failed.increment();
                    String reason = String.valueOf(error.getMessage());
                    if (reasons.size() < 20) {
                        reasons.merge(reason.replaceAll("[0-9a-f]{16}", "*"), 1, Integer::sum);
                    }
                }
                inFlight.decrementAndGet();
                if (!stopping) {
                    startOne();
                }
            });
        }

        @Override
        public void ikeDestroyed(IkeSa sa, String reason) {
            deleted.increment();
            if (sa.connection() != null) {
                free.add(sa.connection().name());
            }
            while (!stopping) {
                int waiting = waitingForConnection.get();
                if (waiting == 0) {
                    break;
                }
                if (waitingForConnection.compareAndSet(waiting, waiting - 1)) {
                    startOne();
                    break;
                }
            }
        }

        @Override
        public void failed(IkeSa sa, String reason) {
            if (sa.state() == dev.keel.ike.session.IkeSaState.ESTABLISHED && sa.isAlive()) {
                engine.terminate(sa); // a child failed: the IKE SA must go too
            }
        }
    }

    private record Snapshot(long nanos, long epochMillis, long ok, long failed, long retransmissions, long cpuTicksSelf,
            long cpuTicksResponder, Map<String, Long> byThreadGroup, Map<Long, Long> byResponderPid) {
        static Snapshot take(Load load, BenchPeer initiator, BenchPeer responder, long[] responderPids) {
            long retransmissions = initiator.engine.counters().retransmissionCount()
                    + (responder == null ? 0 : responder.engine.counters().retransmissionCount());
            long self = ProcessHandle.current().pid();
            Map<String, Long> groups = new TreeMap<>();
            threadTicks(self, groups);
            long responderTicks = 0;
            Map<Long, Long> byPid = new TreeMap<>();
            for (long pid : responderPids) {
                threadTicks(pid, groups);
                long ticks = cpuTicks(pid);
                byPid.put(pid, ticks);
                responderTicks += ticks;
            }
            return new Snapshot(System.nanoTime(), System.currentTimeMillis(), load.ok.sum(), load.failed.sum(), retransmissions,
                    cpuTicks(self), responderTicks, groups, byPid);
        }

        /** The share of both JVMs' CPU that threads of {@code group} used since {@code before}. */
        double share(String group, Snapshot before) {
            long all = 0;
            for (var e : byThreadGroup.entrySet()) {
                all += e.getValue() - before.byThreadGroup.getOrDefault(e.getKey(), 0L);
            }
            long mine = byThreadGroup.getOrDefault(group, 0L) - before.byThreadGroup.getOrDefault(group, 0L);
            return all <= 0 ? 0 : mine / (double) all;
        }
    }

    /**
     * Adds the utime + stime of each thread of {@code pid} to {@code groups} under its kind: the
     * event loops (the IKE work), the JIT compilers, the garbage collector, the rest. A JVM still
     * compiling spends much of its CPU in the compiler threads, which a steady gateway does not.
     */
    private static void threadTicks(long pid, Map<String, Long> groups) {
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String comm = Files.readString(task.resolve("comm")).strip();
                    String stat = Files.readString(task.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
                    groups.merge(threadGroup(comm), ticks, Long::sum);
                } catch (IOException | RuntimeException e) {
                    // the thread ended between the listing and the read
                }
            }
        } catch (IOException | RuntimeException e) {
            // the process ended
        }
    }

    private static String threadGroup(String comm) {
        if (comm.startsWith("vert.x-eventloo")) {
            return "event_loops";
        }
        if (comm.startsWith("C1 Compiler") || comm.startsWith("C2 Compiler")) {
            return "jit";
        }
        if (comm.startsWith("GC ") || comm.startsWith("G1 ")) {
            return "gc";
        }
        return "other";
    }

    /** utime + stime of a process in clock ticks (/proc/PID/stat fields 14 and 15). */
    private static long cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14, 15 counted from field 3
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    // ---- small helpers ----

    private static boolean waitFor(long millis, BooleanSupplier condition) {
        long end = System.nanoTime() + millis * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> o = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("options are --name value pairs: " + String.join(" ", args));
            }
            o.put(args[i].substring(2), args[++i]);
        }
        return o;
    }

    private static InetSocketAddress endpoint(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    private static String json(Map<String, ?> m) {
        StringBuilder b = new StringBuilder("{");
        for (var e : new TreeMap<>(m).entrySet()) {
            if (b.length() > 1) {
                b.append(", ");
            }
            b.append('"').append(e.getKey()).append("\": ").append(value(e.getValue()));
        }
        return b.append('}').toString();
    }

    private static String value(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> copy = new TreeMap<>();
            m.forEach((k, x) -> copy.put(String.valueOf(k), x));
            return json(copy);
        }
        if (v instanceof Number || v instanceof Boolean) {
            return String.format(Locale.ROOT, "%s", v);
        }
        return '"' + String.valueOf(v).replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}
