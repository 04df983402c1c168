package dev.keel.gateway;

import static dev.keel.gateway.LoopbackPair.pairConnection;
import static dev.keel.gateway.LoopbackPair.peerConnection;
import static dev.keel.gateway.LoopbackTesting.await;
import static dev.keel.gateway.LoopbackTesting.freeTcpPort;
import static dev.keel.gateway.ManyTunnels.connection;
import static dev.keel.gateway.ManyTunnels.peerId;
import static dev.keel.gateway.ManyTunnels.peerTs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.keel.gateway.GatewayProcessProbe.Metrics;
import dev.keel.gateway.ManyTunnels.Arrivals;
import dev.keel.gateway.interop.StrongSwanSoakShare;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongToIntFunction;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * The soak (issue 16; docs/security.md, "Soak"; {@code gateway/soak.sh}): gateway A in a process
 * of its own, alone, carrying N tunnels ({@link ManyTunnels}: N IKE SAs, one CHILD SA each), N - S
 * from a Keel peer P in this JVM and S from strongSwan's charon in a network namespace of its own
 * ({@link StrongSwanSoakShare}; S a tenth of N unless {@code -Dkeel.soak.strongswanTunnels} says
 * otherwise; where the share cannot run, P carries all N and the output says why) for a while,
 * A rekeying every CHILD SA every {@code rekey_time} and checking every peer's liveness every
 * {@code dpd_delay}, while P's host (and charon's) sends one packet per tunnel per second which A's
 * host answers back through the tunnel. Every 10 s it reads A from
 * outside ({@link GatewayProcessProbe}): heap after a full GC, file descriptors, threads, its IKE
 * and ESP SA gauges, rekey and DPD counters, blocked-event-loop warnings in its log; and every
 * tunnel's traffic. It asserts that no SA is lost (A runs N IKE SAs at every sample, every tunnel
 * answered within every 10 s window, P's N IKE SAs established with one CHILD SA at the end), that
 * the rekeys and DPD happened, that heap after GC (the trend over the run's second half), file
 * descriptors and threads at the end are within a stated margin of their level after warm-up, and
 * that no thread was reported blocked; for the share also charon's own view of its SAs at the end,
 * the rekeys each side sent and A's DPD of charon, and charon's CPU in the figures.
 *
 * <p>CI runs the defaults (200 tunnels, 20 of them charon's, 3 minutes, rekey every 30 s, DPD every
 * 10 s: about 4 minutes in all); {@code gateway/soak.sh} the long run (1,000 tunnels, 100 of them
 * charon's, 30 minutes, rekey every 60 s, DPD every 30 s), with {@code -Dkeel.soak.tunnels},
 * {@code .strongswanTunnels}, {@code .seconds}, {@code .rekeySeconds},
 * {@code .dpdSeconds}, and {@code -Dkeel.soak.figures=FILE} for the figures.
 */
class GatewaySoakTest {

    private static final int TUNNELS = Integer.getInteger("keel.soak.tunnels", 200);
    /** Of the tunnels, how many come from strongSwan's charon instead of the Keel peer (a tenth unless set). */
    private static final int STRONGSWAN_TUNNELS = Integer.getInteger("keel.soak.strongswanTunnels", TUNNELS / 10);
    /** The run from the first traffic on, warm-up included. */
    private static final int SECONDS = Integer.getInteger("keel.soak.seconds", 180);
    private static final int REKEY_SECONDS = Integer.getInteger("keel.soak.rekeySeconds", 30);
    private static final int DPD_SECONDS = Integer.getInteger("keel.soak.dpdSeconds", 10);
    /** Until the first CHILD SA of every tunnel was rekeyed, and a little: the levels after it are the baseline. */
    private static final int WARMUP_SECONDS = Integer.getInteger("keel.soak.warmupSeconds", REKEY_SECONDS + 15);
    /** Every tunnel sends one packet per round (and gets it back). */
    private static final int ROUND_MILLIS = 1_000;
    private static final int SAMPLE_SECONDS = 10;
    /** Heap after GC may end this far above the baseline, or {@link #HEAP_MARGIN_SHARE} of it if more. */
    private static final long HEAP_MARGIN_BYTES = 16L << 20;
    private static final double HEAP_MARGIN_SHARE = 0.10;
    /**
     * File descriptors, and threads not idle in a pool, may end this many above the baseline (the
     * JVM's JIT compiler threads come and go; a cached pool's idle threads are not counted).
     */
    private static final int FD_SLACK = 8;
    private static final int THREAD_SLACK = 8;

    @AutoClose
    private final LoopbackPair pair = new LoopbackPair("keel-soak");

    @Test
    void tunnelsStayUpThroughRekeysAndDpdWithFlatHeapFdsAndThreads() {
        long bound = 120 + TUNNELS / 5 + SECONDS + 60 + 60 + STRONGSWAN_TUNNELS;
        assertTimeoutPreemptively(Duration.ofSeconds(bound), this::soak, "the soak's whole bound, " + bound + " s");
    }

    /** One reading of A (and of the tunnels' traffic), {@code at} seconds after the traffic started. */
    private record Sample(double at, long heap, int fds, int threads, int ikeSas, int espIn, int espOut,
            long childRekeys, long dpd, long failures, long blocked, int silent) {
        String row() {
            return String.format("| %.0f | %.1f | %d | %d | %,d | %,d / %,d | %,d | %,d | %d | %d | %d |", at,
                    heap / 1048576.0, fds, threads, ikeSas, espIn, espOut, childRekeys, dpd, failures, blocked, silent);
        }
    }

    private void soak() throws Exception {
        int n = TUNNELS;
        Optional<String> noShare = STRONGSWAN_TUNNELS <= 0 ? Optional.of("-Dkeel.soak.strongswanTunnels=0")
                : STRONGSWAN_TUNNELS > n ? Optional.of("more strongSwan tunnels than tunnels")
                : StrongSwanSoakShare.unavailable(); // fails instead with KEEL_REQUIRE_SYSTEM_TESTS=1
        int swanN = noShare.isPresent() ? 0 : STRONGSWAN_TUNNELS;
        int np = n - swanN; // the Keel peer's: tunnels 0 .. np-1; charon's: np .. n-1
        noShare.ifPresent(why -> System.out.println("soak: no strongSwan share (" + why + "); the Keel peer carries"
                + " all " + n + " tunnels"));
        int metricsPort = freeTcpPort();
        String heapMax = n > 300 ? "1g" : "512m";
        String childOptions = "rekey_time: " + REKEY_SECONDS + "s";
        String pairSide = ManyTunnels.connections(n, i -> pairConnection(connection(i), "127.0.0.1", peerId(i),
                peerTs(i), DPD_SECONDS + "s", childOptions));
        String peerSide = ManyTunnels.connections(np, i -> peerConnection(connection(i), peerId(i), peerTs(i), "0s",
                "none"));

        long t0 = System.nanoTime();
        pair.startAAloneInProcess(pairSide, heapMax, metricsPort);
        GatewayNode p = pair.startPeer(peerSide);
        IkeSa[] tunnels = ManyTunnels.establish(p, np, 16, 20);
        long established = System.nanoTime();
        StrongSwanSoakShare swan = null;
        if (swanN > 0) {
            List<StrongSwanSoakShare.Tunnel> share = new ArrayList<>();
            for (int i = np; i < n; i++) {
                share.add(new StrongSwanSoakShare.Tunnel(i, peerId(i), peerTs(i).replace("/32", "")));
            }
            swan = pair.closeAtEnd(StrongSwanSoakShare.start(share, pair.logA().getParent(), pair.logA(),
                    LoopbackPair.PSK,
                    "ha.example", LoopbackPair.A, pair.ikePort, LoopbackPair.ANYCAST, REKEY_SECONDS, DPD_SECONDS, 4));
        }
        long swanEstablished = System.nanoTime();
        Instant setUp = Instant.now();
        GatewayProcessProbe a = pair.closeAtEnd(new GatewayProcessProbe(pair.pidA(), pair.logA(), metricsPort,
                pair.logA().getParent()));
        Metrics first = a.scrape(); // the counters from here: every rekey and DPD after the set-up

        AtomicLongArray sent = new AtomicLongArray(n);
        pair.closeAtEnd(ManyTunnels.echo(pair.lanA, n));
        Arrivals back = pair.closeAtEnd(new Arrivals(pair.lanPeer.host(), np, false, false));
        HostLoop rounds = pair.closeAtEnd(ManyTunnels.rounds(pair.lanPeer, np, ROUND_MILLIS, sent));
        if (swan != null) {
            swan.startTraffic(sent);
        }
        StrongSwanSoakShare share = swan;
        LongToIntFunction answering = since -> back.tunnelsSince(since)
                + (share == null ? 0 : share.tunnelsSince(since));
        Map<String, Long> peerBefore = DataPlaneCounts.of(p);
        long trafficFrom = System.nanoTime();
        await(() -> answering.applyAsInt(trafficFrom) == n, 30_000 + 10L * n, "every tunnel answering", 20);
        long answeringAt = System.nanoTime();

        List<Sample> samples = new ArrayList<>();
        Map<String, Integer> threadsAfterWarmup = null;
        int busyAfterWarmup = 0; // threads not idle in a pool
        long end = trafficFrom + TimeUnit.SECONDS.toNanos(SECONDS);
        for (long next = trafficFrom + TimeUnit.SECONDS.toNanos(SAMPLE_SECONDS); ;
                next += TimeUnit.SECONDS.toNanos(SAMPLE_SECONDS)) {
            long wait = Math.min(next, end) - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000);
            }
            samples.add(sample(a, first, answering, n, trafficFrom));
            System.out.println("soak " + samples.getLast().row());
            if (threadsAfterWarmup == null && samples.getLast().at >= WARMUP_SECONDS) {
                threadsAfterWarmup = a.threadKinds();
                busyAfterWarmup = a.threads() - a.idlePooledThreads();
            }
            if (next >= end) {
                break;
            }
        }
        rounds.close();
        if (swan != null) {
            swan.stopTraffic();
        }
        Thread.sleep(2 * ROUND_MILLIS); // the last round's answers
        double swanCpu = swan == null ? 0 : swan.cpuShare();
        Metrics last = a.scrape();
        long fdsAtEnd = a.fds();
        int busyAtEnd = a.threads() - a.idlePooledThreads();
        Map<String, Integer> threadsGrew = new TreeMap<>(a.threadKinds());
        if (threadsAfterWarmup != null) {
            threadsAfterWarmup.forEach((k, v) -> threadsGrew.merge(k, -v, Integer::sum));
        }
        threadsGrew.values().removeIf(v -> v == 0);
        for (String kind : threadsGrew.keySet()) {
            if (threadsGrew.get(kind) > 0) { // what the threads that came do, for whoever reads a failure
                String prefix = kind.contains("#") ? kind.substring(0, kind.indexOf('#')) : kind;
                a.stacks(prefix, 12).forEach((stack, count) -> System.out.println("soak: " + count + " thread(s) "
                        + prefix + "...: " + stack));
            }
        }
        Map<String, Long> peerGrew = DataPlaneCounts.grownSince(p, peerBefore);

        // the figures
        Sample base = baseline(samples);
        List<Sample> secondHalf = samples.stream().filter(s -> s.at >= SECONDS / 2.0).toList();
        double[] fit = fit(secondHalf);
        double heapAtEnd = fit[0] + fit[1] * samples.getLast().at;
        long heapMargin = Math.max(HEAP_MARGIN_BYTES, (long) (HEAP_MARGIN_SHARE * base.heap));
        long sentAll = 0;
        long lostAll = 0;
        long lostMost = 0;
        for (int i = 0; i < n; i++) {
            long lost = sent.get(i) - (i < np ? back.count(i) : share.answers(i - np));
            sentAll += sent.get(i);
            lostAll += lost;
            lostMost = Math.max(lostMost, lost);
        }
        Sample fin = samples.getLast();
        int busyGrew = busyAtEnd - busyAfterWarmup;
        long rekeys = fin.childRekeys;
        double soakedSeconds = (trafficFrom - established) / 1e9 + fin.at; // set-up to the last sample
        double swanSoakedSeconds = (trafficFrom - swanEstablished) / 1e9 + fin.at; // charon's tunnels came later
        long rekeysExpected = (long) np * (long) Math.floor(soakedSeconds / REKEY_SECONDS)
                + (long) swanN * (long) Math.floor(swanSoakedSeconds / REKEY_SECONDS);
        int silentMost = samples.stream().mapToInt(Sample::silent).max().orElse(0);
        int ikeLeast = samples.stream().mapToInt(Sample::ikeSas).min().orElse(0);
        int ikeMost = samples.stream().mapToInt(Sample::ikeSas).max().orElse(0);

        List<String> out = new ArrayList<>();
        out.add(String.format("- %,d tunnels (%,d IKE SAs, one CHILD SA each), %,d from a Keel peer on loopback and"
                + " %,d from strongSwan, to gateway A (its own"
                + " process, -Xmx%s, %s); %d s of traffic, each tunnel one packet per second each way;"
                + " A rekeys every CHILD SA every %d s (rekey_time) and checks liveness every %d s (dpd_delay);"
                + " A read every %d s, the baseline the median of the samples of the %d s after a %d s warm-up",
                n, n, np, swanN, heapMax, gcName(a), SECONDS, REKEY_SECONDS, DPD_SECONDS, SAMPLE_SECONDS, 30,
                WARMUP_SECONDS));
        out.add(String.format("- setup: A up and the Keel peer's %,d IKE SAs established in %.1f s, charon's %,d in"
                + " %.1f s more; every tunnel answering %.1f s after the traffic started", np, (established - t0) / 1e9,
                swanN, (swanEstablished - established) / 1e9, (answeringAt - trafficFrom) / 1e9));
        int swanRekeySeconds = Math.max(1, REKEY_SECONDS * 3 / 4);
        long oddSwan = java.util.stream.IntStream.range(np, n).filter(i -> i % 2 == 1).count();
        long charonRekeysExpected = oddSwan * (long) Math.floor(swanSoakedSeconds / swanRekeySeconds);
        long aRekeysOfSwanExpected = (swanN - oddSwan) * (long) Math.floor(swanSoakedSeconds / REKEY_SECONDS);
        if (swan == null) {
            out.add("- strongSwan share: none (" + noShare.orElseThrow() + ")");
        } else {
            long swanSent = 0;
            long swanLost = 0;
            for (int i = np; i < n; i++) {
                swanSent += sent.get(i);
                swanLost += sent.get(i) - swan.answers(i - np);
            }
            out.add(String.format("- strongSwan share: %s, kernel-libipsec, ESP in UDP, in %s, one IKE SA per tunnel;"
                    + " charon rekeys the CHILD SAs of the odd tunnels every %d s (three quarters of rekey_time, so"
                    + " before A), A those of the even ones; charon's DPD every %d s; charon used %.1f %% of one core"
                    + " over the traffic (its %d threads, its log at level 1); %,d packets sent, %,d not answered;"
                    + " charon's own list-sas at the end: %d of %d IKE SAs established with one installed CHILD SA;"
                    + " CREATE_CHILD_SA requests charon -> A %,d (at least %,d expected),"
                    + " A -> charon %,d (at least %,d);"
                    + " INFORMATIONAL requests charon -> A %,d, A -> charon %,d",
                    swan.version(), swan.describe(), swanRekeySeconds, DPD_SECONDS,
                    100 * swanCpu, swan.charonThreads(), swanSent, swanLost, swanAtEnd(swan, swanN), swanN,
                    swan.requests(36, true), charonRekeysExpected, swan.requests(36, false), aRekeysOfSwanExpected,
                    swan.requests(37, true), swan.requests(37, false)));
        }
        out.add("");
        out.add("| s | heap after GC, MiB | fds | threads | IKE SAs | ESP SAs in / out | CHILD rekeys | DPD"
                + " | IKE failures | blocked | silent tunnels |");
        out.add("|---|---|---|---|---|---|---|---|---|---|---|");
        int rows = Math.min(samples.size(), 8);
        for (int r = 0; r < rows; r++) {
            out.add(samples.get((int) ((long) r * (samples.size() - 1) / Math.max(1, rows - 1))).row());
        }
        out.add("");
        out.add(String.format("- heap after GC: baseline %.1f MiB; the second half's trend %+.2f MiB per 10 minutes,"
                + " at the end %.1f MiB (%+.1f MiB; margin %.0f MiB: the larger of %d MiB and %.0f %% of the baseline)",
                base.heap / 1048576.0, fit[1] * 600 / 1048576.0, heapAtEnd / 1048576.0,
                (heapAtEnd - base.heap) / 1048576.0, heapMargin / 1048576.0, HEAP_MARGIN_BYTES >> 20,
                HEAP_MARGIN_SHARE * 100));
        out.add(String.format("- file descriptors %d after warm-up, %d at the end (traffic stopped: %d; slack %d);"
                + " threads %d after warm-up, %d at the end; threads not idle in a pool %d at the first sample after"
                + " warm-up, %d at the end (%+d; slack %d); threads by kind, that sample to the end: %s", base.fds,
                fin.fds, fdsAtEnd, FD_SLACK, base.threads, fin.threads, busyAfterWarmup, busyAtEnd, busyGrew, THREAD_SLACK, threadsGrew.isEmpty() ? "no change" : threadsGrew));
        out.add(String.format("- SAs: A ran %,d to %,d IKE SAs at the samples; CHILD SA rekeys %,d (at least %,d"
                + " expected: %,d tunnels × %.0f s since set-up / %d s); DPD exchanges %,d; IKE exchange failures %d;"
                + " retransmissions %,d", ikeLeast, ikeMost, rekeys, rekeysExpected, n, soakedSeconds, REKEY_SECONDS,
                fin.dpd, fin.failures, (long) (last.sum("keel_ike_retransmissions_total")
                        - first.sum("keel_ike_retransmissions_total"))));
        out.add(String.format("- traffic: %,d packets sent, %,d not answered (%.3f %%; at most %d of one tunnel);"
                + " tunnels silent for a whole 10 s window: at most %d at a sample; A's drops: ESP in %s, ESP out %s,"
                + " forwarding %s; the peer's data plane over the run %s; the sender ran late %s", sentAll, lostAll,
                100.0 * lostAll / Math.max(1, sentAll), lostMost, silentMost,
                drops(first, last, "keel_esp_inbound_drops_total"), drops(first, last, "keel_esp_outbound_drops_total"),
                drops(first, last, "keel_forward_drops_total"), peerGrew, rounds.slipped()));
        out.add(String.format("- blocked-thread warnings in A's log: %d (%d of them on a worker thread during the"
                + " set-up, the node's start); ended %s; load average %s", fin.blocked,
                fin.blocked - a.blockedLines(Integer.MAX_VALUE, setUp).size(),
                Instant.now(), Files.readString(Path.of("/proc/loadavg")).strip()));
        String figures = String.join("\n", out) + "\n";
        System.out.print("\n" + figures);
        String file = System.getProperty("keel.soak.figures", "");
        if (!file.isEmpty()) {
            Files.writeString(Path.of(file), figures);
        }

        assertThat(a.blockedLines(5, setUp)).as("blocked-thread warnings in A's log (a worker's in the set-up aside)")
                .isEmpty();
        assertThat(samples).as("samples where A did not run N IKE SAs")
                .filteredOn(s -> s.ikeSas != n).isEmpty();
        assertThat(samples).as("samples with a tunnel silent for the whole window")
                .filteredOn(s -> s.silent != 0).isEmpty();
        await(() -> Arrays.stream(tunnels).allMatch(sa -> sa.state() == IkeSaState.ESTABLISHED
                && sa.children().size() == 1), 10_000, "P's N IKE SAs established with one CHILD SA each", 20);
        if (swan != null) {
            assertThat(swanAtEnd(swan, swanN)).as("charon's IKE SAs established with one installed CHILD SA (swanctl"
                    + " --list-sas):\n" + swan.charonSas() + "\ncharon's log (tail):\n" + swan.charonLogTail(3000))
                    .isEqualTo(swanN);
            assertThat(swan.requests(36, true)).as("CREATE_CHILD_SA requests from charon (its odd tunnels' rekeys)")
                    .isGreaterThanOrEqualTo(charonRekeysExpected);
            assertThat(swan.requests(36, false))
                    .as("CREATE_CHILD_SA requests from A to charon (its even tunnels' rekeys)")
                    .isGreaterThanOrEqualTo(aRekeysOfSwanExpected);
            assertThat(swan.requests(37, false)).as("INFORMATIONAL requests from A to charon (DPD)")
                    .isGreaterThanOrEqualTo(swanN);
        }
        assertThat(rekeys).as("CHILD SA rekeys").isGreaterThanOrEqualTo(rekeysExpected);
        assertThat(fin.dpd).as("DPD exchanges (each tunnel's at least once)").isGreaterThanOrEqualTo(n);
        assertThat(heapAtEnd - base.heap).as("heap after GC at the end (second half's trend) above the baseline")
                .isLessThanOrEqualTo(heapMargin);
        assertThat(fin.fds - base.fds).as("file descriptors above the baseline").isLessThanOrEqualTo(FD_SLACK);
        assertThat(busyGrew).as("threads not idle in a pool, more at the end than after warm-up")
                .isLessThanOrEqualTo(THREAD_SLACK);
    }

    /** charon's IKE SAs with one installed CHILD SA, given up to 10 s to be {@code s} (a rekey may be under way). */
    private static int swanAtEnd(StrongSwanSoakShare swan, int s) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int e = swan.establishedAtCharon();
        for (int tries = 0; e != s && System.nanoTime() < deadline && tries < 100; tries++) {
            Thread.sleep(200);
            e = swan.establishedAtCharon();
        }
        return e;
    }

    private static Sample sample(GatewayProcessProbe a, Metrics first, LongToIntFunction answering, int n,
            long trafficFrom) throws Exception {
        long now = System.nanoTime();
        int silent = n - answering.applyAsInt(now - TimeUnit.SECONDS.toNanos(SAMPLE_SECONDS));
        long heap = a.heapAfterGc();
        Metrics m = a.scrape();
        return new Sample((now - trafficFrom) / 1e9, heap, a.fds(), a.threads(), (int) m.sum("keel_ike_sas"),
                (int) m.sum("keel_esp_sas", "direction=\"in\""), (int) m.sum("keel_esp_sas", "direction=\"out\""),
                grown(first, m, "keel_ike_rekeys_total", "sa=\"child\""),
                grown(first, m, "keel_ike_exchanges_total", "exchange=\"INFORMATIONAL\"", "role=\"initiator\""),
                grown(first, m, "keel_ike_exchange_failures_total"), a.blockedWarnings(), silent);
    }

    private static long grown(Metrics from, Metrics to, String name, String... labels) {
        return (long) (to.sum(name, labels) - from.sum(name, labels));
    }

    /** The levels after warm-up: the median of each reading over the samples of the 30 s after it. */
    private static Sample baseline(List<Sample> samples) {
        List<Sample> after = samples.stream().filter(s -> s.at >= WARMUP_SECONDS && s.at < WARMUP_SECONDS + 30)
                .toList();
        assertThat(after).as("samples just after the warm-up (the run is too short?)").isNotEmpty();
        return new Sample(WARMUP_SECONDS, (long) median(after.stream().mapToDouble(Sample::heap).toArray()),
                (int) median(after.stream().mapToDouble(Sample::fds).toArray()),
                (int) median(after.stream().mapToDouble(Sample::threads).toArray()), 0, 0, 0, 0, 0, 0, 0, 0);
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** Least squares of heap over time: {intercept, bytes per second}. */
    private static double[] fit(List<Sample> samples) {
        assertThat(samples.size()).as("samples in the second half").isGreaterThanOrEqualTo(2);
        double mt = samples.stream().mapToDouble(Sample::at).average().orElseThrow();
        double mh = samples.stream().mapToDouble(Sample::heap).average().orElseThrow();
        double cov = 0;
        double var = 0;
        for (Sample s : samples) {
            cov += (s.at - mt) * (s.heap - mh);
            var += (s.at - mt) * (s.at - mt);
        }
        double slope = var == 0 ? 0 : cov / var;
        return new double[] {mh - slope * mt, slope};
    }

    /** A's drops {@code name} over the run, by reason, the reasons that counted any. */
    private static String drops(Metrics first, Metrics last, String name) {
        StringBuilder s = new StringBuilder();
        for (String line : last.text().split("\n")) {
            if (line.startsWith(name + "{")) {
                String series = line.substring(0, line.lastIndexOf(' '));
                String reason = series.replaceAll(".*reason=\"([^\"]*)\".*", "$1");
                long grew = grown(first, last, name, "reason=\"" + reason + "\"");
                if (grew != 0) {
                    s.append(s.isEmpty() ? "" : ", ").append(reason).append(' ').append(grew);
                }
            }
        }
        return s.isEmpty() ? "none" : s.toString();
    }

    /** The collector A runs, from its metrics' GC pause series (the JVM's choice on this machine). */
    private static String gcName(GatewayProcessProbe a) throws Exception {
        String text = a.scrape().text();
        int at = text.indexOf("jvm_gc_pause_seconds_count{");
        return at < 0 ? "the JVM's default collector"
                : text.substring(at).replaceAll("(?s)^[^\n]*gc=\"([^\"]*)\".*", "$1");
    }
}
