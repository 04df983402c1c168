package dev.keel.gateway.ha;

import dev.keel.gateway.interop.SwanctlSas;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The figures of a failover run, per kill and in total, as the Markdown table docs/ha.md shows
 * ("Measured") and the checks {@link AnycastFailoverTest} asserts.
 *
 * @param kills every kill, in order
 * @param ike every IKE message on strongSwan's link, whole run
 * @param keelEsp tshark's check of every ESP packet the pair sent
 * @param probeForwardDuplicates probe packets the LAN host got more than once (whole run)
 * @param probeReturnDuplicates echoes the peer's host got more than once
 * @param pingDuplicates ping replies marked DUP!, both directions
 * @param capture what tshark said when the capture stopped
 */
record FailoverFigures(List<AnycastFailover.Kill> kills, List<EspCapture.IkeMessage> ike, EspCapture.EspCheck keelEsp,
        List<Long> probeForwardDuplicates, List<Long> probeReturnDuplicates, int pingDuplicates, String capture) {

    FailoverFigures {
        kills = List.copyOf(kills);
        ike = List.copyOf(ike);
        probeForwardDuplicates = List.copyOf(probeForwardDuplicates);
        probeReturnDuplicates = List.copyOf(probeReturnDuplicates);
    }

    /** IKE messages of exchanges that set up or rekey SAs (everything but INFORMATIONAL) after kill {@code k}. */
    List<EspCapture.IkeMessage> negotiationsAfter(AnycastFailover.Kill k) {
        double at = k.at().getEpochSecond() + k.at().getNano() / 1e9;
        return ike.stream().filter(m -> m.time() >= at && m.exchange() != 37).toList();
    }

    /** The SAD's live CHILD SA records after kill {@code k}, and how many of them the survivor owns. */
    static long[] liveAndOwned(AnycastFailover.Kill k) {
        List<ChildSaRecord> live = k.sad().stream().filter(r -> r.getState() == ChildSaState.CHILD_SA_STATE_ACTIVE)
                .toList();
        long owned = live.stream().filter(r -> r.getOwnerNodeId().equals("gw-" + k.survivor())).count();
        return new long[] {live.size(), owned};
    }

    /** True when charon's IKE SAs and their CHILD SAs are the same, SPI for SPI, as {@code reference}. */
    static boolean sameSpis(List<SwanctlSas.IkeSa> reference, List<SwanctlSas.IkeSa> now) {
        return spis(reference).equals(spis(now));
    }

    static List<String> spis(List<SwanctlSas.IkeSa> sas) {
        List<String> out = new ArrayList<>();
        for (SwanctlSas.IkeSa ike : sas) {
            StringBuilder s = new StringBuilder(ike.name() + " " + ike.state() + " " + ike.initiatorSpi() + "/"
                    + ike.responderSpi());
            ike.children().stream().map(c -> " " + c.name() + " " + c.state() + " " + c.spiIn() + "/" + c.spiOut())
                    .sorted().forEach(s::append);
            out.add(s.toString());
        }
        return out.stream().sorted().toList();
    }

    private static String ms(long nanos) {
        return nanos < 0 ? "never" : String.format(Locale.ROOT, "%d", Math.round(nanos / 1e6));
    }

    /** The largest probe resumption over the kills, in ms (-1 if one never resumed). */
    long worstResumeMillis() {
        long worst = 0;
        for (AnycastFailover.Kill k : kills) {
            long r = k.probe().resumeNanos();
            if (r < 0) {
                return -1;
            }
            worst = Math.max(worst, r);
        }
        return Math.round(worst / 1e6);
    }

    /** The per-kill table and the totals, in Markdown. */
    String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("| kill | node killed → survivor | traffic again (ms) | UDP probe → / ← (ms) | ping → / ← (ms) "
                + "| lost probe → / ← | lost pings → / ← | IKE exchanges after kill | peer's SAs, SPIs | SAD: live / survivor's "
                + "| ESP replayed to survivor | iperf3 MB (retransmits) | takeover (survivor's log) |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (AnycastFailover.Kill k : kills) {
            long[] sad = liveAndOwned(k);
            boolean sameAsBefore = sameSpis(k.sasBefore(), k.sasAfter());
            sb.append(String.format(Locale.ROOT,
                    "| %d | %s → %s%s | **%s** | %s / %s | %s / %s | %d / %d | %d / %d | %d | %d IKE, %d CHILD, %s | %d / %d "
                            + "| %d | %.1f (%d)%s | %s |\n",
                    k.index(), k.killed().toUpperCase(Locale.ROOT), k.survivor().toUpperCase(Locale.ROOT),
                    k.down().describe(), ms(k.probe().resumeNanos()), ms(k.probe().forwardResumeNanos()),
                    ms(k.probe().returnResumeNanos()), ms(k.pingForward().resumeNanos()),
                    ms(k.pingReturn().resumeNanos()), k.probe().forwardLost(), k.probe().returnLost(),
                    k.pingForward().lost(), k.pingReturn().lost(), negotiationsAfter(k).size(), k.sasAfter().size(),
                    k.sasAfter().stream().mapToInt(s -> s.children().size()).sum(),
                    sameAsBefore ? "unchanged" : "**changed**", sad[0], sad[1], k.replayed(), k.iperf().bytesReceived() / 1e6, k.iperf().retransmits(),
                    k.iperf().error().isEmpty() ? "" : " **" + k.iperf().error() + "**",
                    k.takeover().isEmpty() ? "-" : k.takeover().replaceAll(" of departed member \\S+", "")));
        }
        sb.append('\n');
        sb.append(String.format(Locale.ROOT, "Worst kill → traffic again: %s ms. Over the run: %d ESP packets from the "
                + "pair, %d with a valid ICV, %d (SPI, sequence number) pairs repeated; %d inner packets delivered "
                + "twice (UDP probe → %d, ← %d; ping DUP! %d); IKE_SA_INIT messages %d, IKE_AUTH %d, "
                + "CREATE_CHILD_SA %d.\n", worstResumeMillis() < 0 ? "never" : Long.toString(worstResumeMillis()),
                keelEsp.packets(), keelEsp.icvGood(), keelEsp.repeated().size(),
                probeForwardDuplicates.size() + probeReturnDuplicates.size() + pingDuplicates,
                probeForwardDuplicates.size(), probeReturnDuplicates.size(), pingDuplicates, count(34), count(35),
                count(36)));
        return sb.toString();
    }

    long count(int exchange) {
        return ike.stream().filter(m -> m.exchange() == exchange).count();
    }
}
