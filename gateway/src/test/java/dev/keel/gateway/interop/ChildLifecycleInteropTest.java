package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.SystemTests;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CHILD SA and IKE SA lifecycles against strongSwan (issue 15): rekeys by packets, by time, from
 * both sides at once under traffic.
 */
@Timeout(150)
class ChildLifecycleInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String PSK = "keel-interop-psk-0123456";
    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";
    /** 100 pings a second for 50 s. */
    private static final int PINGS = 5_000;

    @TempDir
    Path work;

    @BeforeEach
    void requireTools() throws IOException {
        StrongSwanPeer.assumeAvailable();
        SystemTests.assumeTool("ping");
    }

    /**
     * Issue 15's target: CHILD SA rekeys by time on both sides race each other, Keel's 1 to 3 s
     * after the SA was made (rekey_time 3 s less up to 2 s) and charon's as early (kernel-libipsec
     * expires the inbound and the outbound SA apart, so charon rekeys at the earlier of two draws),
     * so that each side starts a share of them and now and then both start one at once (§2.8.1).
     * Both sides' triggers are times, not the ping's rate, which differs between machines. IKE SA
     * rekeys by time on both sides (charon's at 8 s, Keel's at 7 to 9 s), under a ping of 100
     * packets/s for 50 s: at least 20 CHILD SA and 5 IKE SA rekeys, CHILD SA rekeys started from
     * both sides, and not one ping lost. The hard limits sit far above the soft ones, so an SA
     * never ends before its replacement carries the traffic. A lost ping fails the test with the
     * times of the pings not answered ({@code ping -D -O}), to be read beside both logs.
     */
    @Test
    void rekeysFromBothSidesUnderAHundredPingsASecondLoseNone() throws Exception {
        try (NetnsTopology topo = NetnsTopology.create()) {
            CharonOptions charonSide = CharonOptions.defaults()
                    .withConnectionLine("rekey_time = 8s")
                    .withConnectionLine("rand_time = 0s")
                    // else charon's hard limit can fall on its rekey and it deletes the new IKE SA
                    .withConnectionLine("over_time = 60s")
                    .withChildLine("rekey_time = 3s")
                    .withChildLine("rand_time = 2s")
                    .withChildLine("life_time = 60s");
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP), charonSide);
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo.a(), work.resolve("keel"),
                            policy -> policy
                                    .replace("    proposals: ", "    rekey_time: 9s\n    rand_time: 2s\n"
                                            + "    over_time: 60s\n    proposals: ")
                                    .replace("        start_action: none", "        start_action: none\n"
                                            + "        rekey_time: 3s\n        rand_time: 2s\n"
                                            + "        life_time: 60s"),
                            ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP))) {
                KeelStrongSwanInteropTest.withLogs(charon, keel, () -> {
                    charon.initiate(WAIT).requireOk();
                    charon.awaitSas(l -> l.size() == 1 && l.getFirst().child("net")
                            .filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
                    BoundedCommand.Result ping = topo.exec(topo.a().hostNamespace(), Duration.ofSeconds(90), "ping",
                            "-n", "-D", "-O", "-c", Integer.toString(PINGS), "-i", "0.01", "-W", "2",
                            topo.b().hostAddress());
                    Matcher m = Pattern.compile("(\\d+) packets transmitted, (\\d+) received").matcher(ping.output());
                    assertThat(m.find()).as("ping's summary in:\n" + ping.output()).isTrue();

                    String log = charon.log();
                    int charonChild = count(log, "generating CREATE_CHILD_SA request \\d+ \\[ N\\(REKEY_SA\\)");
                    int keelChild = count(log, "parsed CREATE_CHILD_SA request \\d+ \\[ N\\(REKEY_SA\\)");
                    int charonIke = count(log, "generating CREATE_CHILD_SA request \\d+ \\[ SA No KE \\]");
                    int keelIke = count(log, "parsed CREATE_CHILD_SA request \\d+ \\[ SA No KE \\]");
                    String figures = "CHILD SA rekeys started by charon " + charonChild + ", by Keel " + keelChild
                            + "; IKE SA rekeys by charon " + charonIke + ", by Keel " + keelIke;
                    System.out.println(figures);
                    assertThat(Integer.parseInt(m.group(1))).as("pings sent").isEqualTo(PINGS);
                    assertThat(Integer.parseInt(m.group(2))).as("pings answered; " + figures
                            + "; not answered in time (ping's clock, UTC):\n" + unanswered(ping.output()))
                            .isEqualTo(PINGS);
                    assertThat(charonChild + keelChild).as(figures).isGreaterThanOrEqualTo(20);
                    assertThat(charonChild).as(figures).isPositive();
                    assertThat(keelChild).as(figures).isPositive();
                    assertThat(charonIke + keelIke).as(figures).isGreaterThanOrEqualTo(5);
                    assertThat(keel.log()).containsPattern("rekeying ChildSa\\[net .*, rekey_time reached");

                    // a rekeyed CHILD SA lingers in charon's list as DELETED for a moment
                    List<SwanctlSas.IkeSa> end = charon.awaitSas(l -> l.size() == 1
                            && l.getFirst().children().size() == 1
                            && l.getFirst().children().getFirst().state().equals("INSTALLED"), WAIT);
                    assertThat(end.getFirst().state()).isEqualTo("ESTABLISHED");
                });
            }
        }
    }

    /**
     * dpd_action restart against strongSwan, DPD both ways: charon checks Keel every second and
     * Keel answers; Keel checks charon after 3 s without a word from it (retransmissions of 1, 1.5,
     * 2.25 and 3.4 s: dead about 11 s after the last). charon is killed (SIGKILL: no Delete):
     * Keel declares it dead and initiates again at once; a new charon is started meanwhile and
     * Keel's retransmitted IKE_SA_INIT reaches it: the tunnel is back, initiated by Keel, and
     * carries pings, and charon's liveness checks of the new IKE SA get their answers.
     */
    @Test
    void keelFindsADeadCharonAndRestartsTheTunnelWithDpdActionRestart() throws Exception {
        try (NetnsTopology topo = NetnsTopology.create()) {
            ConnectionSpec charonSpec = ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP);
            CharonOptions charonSide = CharonOptions.defaults().withConnectionLine("dpd_delay = 1s");
            StrongSwanPeer first = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon-1"),
                    charonSpec, charonSide);
            // the gateway's ike: section rides in front of the policy part (both under the file's top level)
            try (StrongSwanPeer firstCharon = first;
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo.a(), work.resolve("keel"),
                            policy -> "  ike: {retransmit_timeout: 1, retransmit_base: 1.5, retransmit_tries: 3}\n"
                                    + policy.replace("    proposals: ", "    dpd_delay: 3s\n    proposals: ")
                                            .replace("        start_action: none",
                                                    "        start_action: none\n        dpd_action: restart"),
                            ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP))) {
                KeelStrongSwanInteropTest.withLogs(first, keel, () -> {
                    first.initiate(WAIT).requireOk();
                    first.awaitSas(l -> l.size() == 1 && l.getFirst().child("net")
                            .filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
                    CharonPairTest.assertEveryPingAnswered(topo, 3);

                    first.kill(); // charon gone without a word
                    keel.awaitLog("peer unreachable", Duration.ofSeconds(30));
                    try (StrongSwanPeer second = StrongSwanPeer.start(topo.b().gatewayNamespace(),
                            work.resolve("charon-2"), charonSpec, charonSide)) {
                        KeelStrongSwanInteropTest.withLogs(second, keel, () -> {
                            List<SwanctlSas.IkeSa> back = second.awaitSas(l -> l.size() == 1 && l.getFirst()
                                    .child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
                            assertThat(back.getFirst().initiator()).as("Keel initiated it again").isFalse();
                            assertThat(keel.log()).contains("dpd_action start: initiating again");
                            long until = System.nanoTime() + WAIT.toNanos(); // Keel installs once charon answered
                            while (count(keel.log(), "usable in the data plane") < 2 && System.nanoTime() < until) {
                                Thread.sleep(50);
                            }
                            CharonPairTest.assertEveryPingAnswered(topo, 3);

                            Thread.sleep(4_000); // idle: charon checks Keel every second
                            assertThat(second.log()).contains("sending DPD request");
                            assertThat(count(second.log(), "parsed INFORMATIONAL response \\d+ \\[ \\]"))
                                    .as("Keel answered charon's liveness checks").isPositive();
                            assertThat(second.listSas()).hasSize(1);
                        });
                    }
                });
            }
        }
    }

    /**
     * The runs of pings never answered in {@code ping -D -O} output, each with the time it was
     * found unanswered (when the next ping left), e.g. {@code 4736-4999 (264) from 10:11:00.762}.
     */
    static String unanswered(String output) {
        Set<Integer> answered = new HashSet<>();
        Map<Integer, String> late = new HashMap<>();
        Matcher reply = Pattern.compile("icmp_seq=(\\d+) ttl=").matcher(output);
        while (reply.find()) {
            answered.add(Integer.parseInt(reply.group(1)));
        }
        Matcher none = Pattern.compile("\\[(\\d+)\\.(\\d{3})\\d*\\] no answer yet for icmp_seq=(\\d+)").matcher(output);
        while (none.find()) {
            LocalTime t = LocalTime.ofInstant(Instant.ofEpochSecond(
                    Long.parseLong(none.group(1)), Long.parseLong(none.group(2)) * 1_000_000), ZoneOffset.UTC);
            late.put(Integer.parseInt(none.group(3)), t.toString());
        }
        StringBuilder out = new StringBuilder();
        int seq = 1;
        while (seq <= PINGS) {
            if (answered.contains(seq)) {
                seq++;
                continue;
            }
            int first = seq;
            while (seq <= PINGS && !answered.contains(seq)) {
                seq++;
            }
            out.append(first).append('-').append(seq - 1).append(" (").append(seq - first).append(") from ")
                    .append(late.getOrDefault(first, "?")).append('\n');
        }
        return out.toString();
    }

    private static int count(String log, String regex) {
        Matcher m = Pattern.compile(regex).matcher(log);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }
}
