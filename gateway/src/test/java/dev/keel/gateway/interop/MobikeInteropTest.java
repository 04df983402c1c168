package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.SystemTests;
import dev.keel.ike.session.RetransmitPolicy;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.IkeSaInfo;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListIkeSasRequest;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * MOBIKE (RFC 4555) against strongSwan: charon ({@code mobike = yes}, kernel-libipsec,
 * {@code encap = yes}) in site B initiates to Keel in site A, then its outer address changes from
 * 192.0.2.2 to 192.0.2.3 under a continuous ping (5 a second) from host B to host A. charon's
 * kernel-netlink plugin sees the address go and sends UPDATE_SA_ADDRESSES from the new one (§3.5);
 * Keel moves the IKE SA there, checks the new address's return routability (§3.7) and moves the
 * CHILD SA's records in the SAD, so its ESP follows (charon's kernel-libipsec cannot update its
 * own SAs in place, so charon then rekeys the CHILD SA, from the new address). Pings resume within {@link #RESUME_BOUND};
 * Keel's SA listing and SAD records and charon's {@code swanctl --list-sas} show the new address
 * on the same IKE SA.
 */
@Timeout(180)
class MobikeInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String PSK = "keel-interop-psk-0123456";
    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";
    private static final String NEW_ADDRESS = "192.0.2.3";
    /** The ping interval across the move (ping -i). */
    private static final Duration PING_INTERVAL = Duration.ofMillis(200);
    /** strongSwan's kernel-netlink waits this long after an address event before it roams (ROAM_DELAY). */
    private static final Duration CHARON_ROAM_DELAY = Duration.ofMillis(100);
    /** charon's first retransmission in this harness (StrongSwanPeer: retransmit_timeout = 1.0). */
    private static final Duration CHARON_RETRANSMIT = Duration.ofSeconds(1);
    /**
     * The longest time between two ping replies the move may cause. Without a loss: charon's roam
     * delay, UPDATE_SA_ADDRESSES and its answer, Keel's return routability check and its answer, the
     * SAD's update reaching the data plane, and the ping interval (a reply lost while Keel still
     * sends to the old address). The bound allows one lost message of each exchange (charon
     * retransmits its update after retransmit_timeout, Keel its check after its first timeout,
     * RetransmitPolicy.DEFAULT) and 1 s for the round trips and the SAD on a loaded 2-core machine.
     * Measured: 0.41 s, 0.8 s.
     */
    private static final Duration RESUME_BOUND = CHARON_ROAM_DELAY.plus(CHARON_RETRANSMIT)
            .plus(RetransmitPolicy.DEFAULT.timeout()).plus(PING_INTERVAL).plus(Duration.ofSeconds(1));

    /** Configurations, logs and charon's files; JUnit removes it, also after a failure. */
    @TempDir
    Path work;

    @BeforeEach
    void requireTools() {
        StrongSwanPeer.assumeAvailable(); // root, ip netns, charon
        SystemTests.assumeTool("ping");
    }

    @Test
    void charonChangesItsAddressUnderTrafficAndKeelsSasFollowTheUpdate() throws Exception {
        try (NetnsTopology topo = NetnsTopology.create()) {
            ConnectionSpec keelSpec = ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP);
            ConnectionSpec charonSpec = ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP);
            Path keelDir = work.resolve("keel");
            // the harness's charon has mobike = no; a later key in the section wins
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    charonSpec, CharonOptions.defaults().withConnectionLine("mobike = yes"));
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo, topo.a(), keelSpec, keelDir)) {
                Path pingLog = work.resolve("ping.log");
                Process ping = null;
                try {
                    charon.initiate(WAIT).requireOk();
                    SwanctlSas.IkeSa before = CharonPairTest.single(charon.awaitSas(l -> l.size() == 1
                            && l.getFirst().child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT));
                    assertThat(before.localHost()).isEqualTo(topo.b().outerAddress());
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.b(), topo.a(), 3)).as("B -> A before").isEqualTo(3);
                    keel.awaitLog(", MOBIKE)", WAIT); // "IKE_SA[...] established with ... (suite, MOBIKE)"

                    // continuous traffic across the move: -D stamps each reply, -O reports the unanswered
                    ping = topo.startInBackground(topo.b().hostNamespace(), pingLog, "ping", "-n", "-D", "-O", "-i",
                            String.valueOf(PING_INTERVAL.toMillis() / 1000.0), "-W", "1", topo.a().hostAddress());
                    Thread.sleep(1000);

                    // the new address first (promoted when the old, primary one goes), then the old one away
                    String gw = topo.b().gatewayNamespace();
                    topo.exec(gw, WAIT, "sysctl", "-q", "-w", "net.ipv4.conf.outer.promote_secondaries=1").requireOk();
                    topo.exec(gw, WAIT, "ip", "addr", "add", NEW_ADDRESS + "/24", "dev", "outer").requireOk();
                    long movedAt = System.currentTimeMillis();
                    topo.exec(gw, WAIT, "ip", "addr", "del", topo.b().outerAddress() + "/24", "dev", "outer")
                            .requireOk();

                    keel.awaitLog("MOBIKE: UPDATE_SA_ADDRESSES from /" + NEW_ADDRESS, WAIT);
                    keel.awaitLog("passed the return routability check", WAIT);
                    keel.awaitLog("CHILD SA net follows", WAIT);
                    awaitRepliesAfter(pingLog, movedAt, 10, WAIT);
                    ping.destroy();
                    ping.waitFor(5, TimeUnit.SECONDS);

                    Gaps gaps = gaps(Files.readString(pingLog));
                    System.out.printf("MOBIKE move under ping: %d replies, longest gap between replies %d ms (bound %d ms)%n",
                            gaps.replies(), gaps.longestMillis(), RESUME_BOUND.toMillis());
                    assertThat(gaps.longestMillis()).as("longest gap between ping replies across the move")
                            .isLessThan(RESUME_BOUND.toMillis());

                    // the same IKE SA on both sides, at the new address; charon's kernel-libipsec cannot move its
                    // CHILD SAs in place, so charon rekeys them after the update: wait for the old one's delete
                    SwanctlSas.IkeSa after = CharonPairTest.single(charon.awaitSas(l -> l.size() == 1
                            && l.getFirst().children().stream().allMatch(c -> c.state().equals("INSTALLED"))
                            && l.getFirst().child("net").isPresent(), WAIT));
                    assertThat(after.initiatorSpi()).as("charon's IKE SA is the same").isEqualTo(before.initiatorSpi());
                    assertThat(after.localHost()).as("charon's IKE SA moved").isEqualTo(NEW_ADDRESS);
                    IkeSaInfo sa = singleIkeSa(keelDir);
                    assertThat(CoreMapping.endpoint(sa.getRemote(), "remote").getAddress().getHostAddress())
                            .as("Keel's IKE SA's peer").isEqualTo(NEW_ADDRESS);
                    assertThat(String.format("%016x", sa.getInitiatorSpi())).isEqualTo(before.initiatorSpi());
                    List<ChildSaRecord> records = awaitChildSas(keelDir, 2, WAIT);
                    assertThat(records).as("the CHILD SA's records in the SAD").hasSize(2).allSatisfy(r ->
                            assertThat(CoreMapping.endpoint(r.getPeer(), "peer").getAddress().getHostAddress())
                                    .isEqualTo(NEW_ADDRESS));
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.a(), topo.b(), 3)).as("A -> B after").isEqualTo(3);
                } catch (AssertionError | IOException e) {
                    throw new AssertionError(e.getMessage() + "\n--- ping ---\n" + (Files.exists(pingLog)
                            ? Files.readString(pingLog) : "") + "\n--- charon log ---\n" + charon.log()
                            + "\n--- Keel log ---\n" + keel.log(), e);
                } finally {
                    if (ping != null) {
                        ping.destroyForcibly();
                    }
                }
            }
        }
    }

    private static final Pattern REPLY = Pattern.compile("^\\[(\\d+)\\.(\\d+)\\] \\d+ bytes from", Pattern.MULTILINE);

    /** Replies in ping's -D log and the longest time between two of them. */
    record Gaps(int replies, long longestMillis) {
    }

    static Gaps gaps(String log) {
        Matcher m = REPLY.matcher(log);
        long last = -1;
        long longest = 0;
        int n = 0;
        while (m.find()) {
            long t = stampMillis(m);
            if (last >= 0) {
                longest = Math.max(longest, t - last);
            }
            last = t;
            n++;
        }
        return new Gaps(n, longest);
    }

    private static long stampMillis(Matcher m) {
        return Long.parseLong(m.group(1)) * 1000 + Long.parseLong((m.group(2) + "000").substring(0, 3));
    }

    /** Waits (bounded) until ping's log has {@code count} replies stamped after {@code sinceMillis}. */
    private static void awaitRepliesAfter(Path log, long sinceMillis, int count, Duration timeout)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Matcher m = REPLY.matcher(Files.readString(log));
            int n = 0;
            while (m.find()) {
                if (stampMillis(m) > sinceMillis) {
                    n++;
                }
            }
            if (n >= count) {
                return;
            }
            assertThat(System.nanoTime()).as(count + " ping replies after the move").isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static ManagedChannel admin(Path keelDir) {
        return Grpc.newChannelBuilder("unix:" + keelDir.resolve("admin/keel.sock"), InsecureChannelCredentials.create())
                .build();
    }

    private static IkeSaInfo singleIkeSa(Path keelDir) {
        ManagedChannel ch = admin(keelDir);
        try {
            List<IkeSaInfo> all = IkeServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .listIkeSas(ListIkeSasRequest.getDefaultInstance()).getIkeSasList();
            assertThat(all).as("Keel's IKE SAs").hasSize(1);
            return all.getFirst();
        } finally {
            ch.shutdownNow();
        }
    }

    /** Waits (bounded) until the SAD holds exactly {@code count} live CHILD SA records (a rekey's old pair gone). */
    private static List<ChildSaRecord> awaitChildSas(Path keelDir, int count, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<ChildSaRecord> now = childSas(keelDir);
            if (now.size() == count || System.nanoTime() > deadline) {
                return now;
            }
            Thread.sleep(200);
        }
    }

    private static List<ChildSaRecord> childSas(Path keelDir) {
        ManagedChannel ch = admin(keelDir);
        try {
            List<ChildSaRecord> all = new ArrayList<>();
            for (ChildSaRecord r : SaServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .listChildSas(ListChildSasRequest.newBuilder().setPageSize(1000).build()).getChildSasList()) {
                if (r.getState() != ChildSaState.CHILD_SA_STATE_DELETED) {
                    all.add(r);
                }
            }
            return all;
        } finally {
            ch.shutdownNow();
        }
    }
}
