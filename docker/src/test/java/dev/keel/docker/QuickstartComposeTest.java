package dev.keel.docker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.ContainerState;
import org.testcontainers.containers.DockerComposeContainer;

/**
 * docker/compose/quickstart.yml as a user runs it (docker-compose up, the images docker/build.sh
 * makes): gateway A brings the tunnel up to B by itself, both gateways' SADs hold the same CHILD
 * SA pair, the hosts' packets go through keel0, and host A and host B ping each other through
 * the tunnel. The project is removed (containers and networks) after the test, failed or not.
 */
@Timeout(value = 12, unit = java.util.concurrent.TimeUnit.MINUTES) // each method, @BeforeAll included
class QuickstartComposeTest {

    /** Every compose project of this suite starts with it; leftovers of a killed run are removed first. */
    static final String PROJECT_PREFIX = "keeltestqs";
    static final Duration TUNNEL_TIMEOUT = Duration.ofSeconds(180);
    static final Pattern SA_LINE = Pattern.compile("(\\S+) (\\S+) (INBOUND|OUTBOUND) ([0-9a-f]{8}) (\\S+) owner=(\\S+) .*");

    private static DockerComposeContainer<?> compose;
    private static double secondsToTunnel;

    @BeforeAll
    static void up() throws Exception {
        long start = System.nanoTime();
        ContainerSuite.up(PROJECT_PREFIX, "docker/compose/quickstart.yml", c -> compose = c,
                "the tunnel (\"usable in the data plane\" in both gateways' logs)", TUNNEL_TIMEOUT, Duration.ofSeconds(1),
                () -> logs("gw-a").contains("usable in the data plane") && logs("gw-b").contains("usable in the data plane"),
                QuickstartComposeTest::printLogs);
        secondsToTunnel = (System.nanoTime() - start) / 1e9;
        System.out.printf("quickstart: tunnel up %.1f s after docker-compose up%n", secondsToTunnel);
    }

    @AfterAll
    static void down() {
        ContainerSuite.down(compose, PROJECT_PREFIX);
        compose = null;
    }

    @Test
    void bothSadsHoldTheSameChildSaPair() throws Exception {
        Map<String, String> a = activeSpis("gw-a");
        Map<String, String> b = activeSpis("gw-b");
        assertThat(a).containsOnlyKeys("to-b/lan/INBOUND", "to-b/lan/OUTBOUND");
        assertThat(b).containsOnlyKeys("to-a/lan/INBOUND", "to-a/lan/OUTBOUND");
        assertThat(a.get("to-b/lan/OUTBOUND")).isEqualTo(b.get("to-a/lan/INBOUND"));
        assertThat(a.get("to-b/lan/INBOUND")).isEqualTo(b.get("to-a/lan/OUTBOUND"));
    }

    @Test
    void hostsPingEachOtherThroughTheTunnel() throws Exception {
        // The gateways route the other LAN through keel0, the TUN device Keel runs.
        assertThat(exec("gw-a", "ip", "route", "get", "172.29.2.10").getStdout()).contains("dev keel0");
        assertThat(exec("gw-b", "ip", "route", "get", "172.29.1.10").getStdout()).contains("dev keel0");
        assertPings("host-a", "172.29.2.10");
        assertPings("host-b", "172.29.1.10");
    }

    @Test
    void gatewayHealthcheckReportsServing() throws Exception {
        ExecResult r = exec("gw-a", "keel-health", "unix:/run/keel/admin.sock");
        assertThat(r.getExitCode()).as(r.getStdout() + r.getStderr()).isZero();
        assertThat(r.getStdout()).contains("SERVING");
    }

    /** 5 pings 0.2 s apart, waiting up to 10 s for the replies; four of them must come back. */
    private static void assertPings(String host, String target) throws Exception {
        ExecResult r = exec(host, "ping", "-c", "5", "-i", "0.2", "-w", "10", target);
        System.out.printf("%s -> %s:%n%s", host, target, r.getStdout());
        Matcher m = Pattern.compile("(\\d+) received").matcher(r.getStdout());
        assertThat(m.find()).as(r.getStdout() + r.getStderr()).isTrue();
        assertThat(Integer.parseInt(m.group(1))).as(host + " -> " + target + ": replies of 5").isGreaterThanOrEqualTo(4);
    }

    /** connection/child/direction to SPI of the gateway's ACTIVE CHILD SAs (keelctl on its admin socket, the default). */
    private static Map<String, String> activeSpis(String gateway) throws Exception {
        ExecResult r = exec(gateway, "keelctl", "--list-sad");
        assertThat(r.getExitCode()).as(r.getStdout() + r.getStderr()).isZero();
        System.out.printf("%s SAD:%n%s", gateway, r.getStdout());
        return r.getStdout().lines().map(SA_LINE::matcher).filter(Matcher::matches)
                .filter(m -> m.group(5).equals("ACTIVE"))
                .collect(Collectors.toMap(m -> m.group(1) + "/" + m.group(2) + "/" + m.group(3), m -> m.group(4)));
    }

    private static ExecResult exec(String service, String... command) throws Exception {
        return container(service).execInContainer(command);
    }

    private static String logs(String service) {
        return container(service).getLogs();
    }

    private static ContainerState container(String service) {
        return ContainerSuite.container(compose, service);
    }

    private static void printLogs() {
        if (compose == null) {
            return;
        }
        for (String s : List.of("gw-a", "gw-b")) {
            try {
                System.out.println("---- " + s + " ----\n" + logs(s));
            } catch (RuntimeException | AssertionError e) {
                System.out.println("---- " + s + ": no logs (" + e.getMessage() + ")");
            }
        }
    }
}
