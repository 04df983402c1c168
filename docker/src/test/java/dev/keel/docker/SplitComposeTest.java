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
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.DockerComposeContainer;

/**
 * docker/compose/split.yml: Keel's services in containers of their own (three sad-service members,
 * policy-service, ike-service behind two esp-workers on one outer address) against the
 * keel-strongswan peer. The peer's tunnel comes up through the workers and the IKE relay, the
 * hosts ping each other through it; then the esp-worker container that carries the tunnel is
 * killed (SIGKILL), and the tunnel keeps forwarding through the other worker with the same SPIs:
 * the SAD moved the CHILD SAs to the survivor's node, charon kept its one CHILD SA.
 */
@Timeout(value = 12, unit = java.util.concurrent.TimeUnit.MINUTES) // each method, @BeforeAll included
class SplitComposeTest {

    static final String PROJECT_PREFIX = "keeltestsplit";
    static final Duration TUNNEL_TIMEOUT = Duration.ofSeconds(240);
    /** One line of keelctl --list-sad: connection child direction spi state owner=node epoch=n. */
    static final Pattern SA_LINE = Pattern.compile("(\\S+) (\\S+) (INBOUND|OUTBOUND) ([0-9a-f]{8}) (\\S+) owner=(\\S+) epoch=(\\d+)");
    static final Map<String, String> WORKER_OF_NODE = Map.of("sad-a", "esp-worker-a", "sad-b", "esp-worker-b");

    private static DockerComposeContainer<?> compose;

    @BeforeAll
    static void up() throws Exception {
        long start = System.nanoTime();
        // compose's start returns once ike-service and the members it waits for are healthy
        ContainerSuite.up(PROJECT_PREFIX, "docker/compose/split.yml", c -> compose = c,
                "the CHILD SA (INSTALLED at the peer, ACTIVE in Keel's SAD)", TUNNEL_TIMEOUT, Duration.ofSeconds(2),
                () -> exec("peer", "swanctl", "--list-sas").getStdout().contains("INSTALLED")
                        && sas().stream().filter(m -> m.group(5).equals("ACTIVE")).count() == 2,
                SplitComposeTest::printLogs);
        System.out.printf("split: tunnel up %.1f s after docker-compose up%n", (System.nanoTime() - start) / 1e9);
    }

    @AfterAll
    static void down() {
        ContainerSuite.down(compose, PROJECT_PREFIX);
        compose = null;
    }

    @Test
    void killedEspWorkerLeavesTheTunnelForwardingWithTheSameSpis() throws Exception {
        try {
            killAndCheck();
        } catch (AssertionError e) {
            printLogs(); // what the services did: a CI run once saw no reply at all to the first pings
            throw e;
        }
    }

    private static void killAndCheck() throws Exception {
        assertPings("host-a", "172.29.10.10", 5, 4);
        List<Matcher> before = sas();
        String owner = before.getFirst().group(6);
        assertThat(before).allSatisfy(m -> assertThat(m.group(6)).isEqualTo(owner));
        Map<String, String> spis = spis(before);
        String peerSasBefore = childSpis(exec("peer", "swanctl", "--list-sas").getStdout());
        String carrier = WORKER_OF_NODE.get(owner);
        String survivorNode = owner.equals("sad-a") ? "sad-b" : "sad-a";
        System.out.printf("split: CHILD SAs %s owned by %s; killing %s%n", spis, owner, carrier);

        var docker = DockerClientFactory.instance().client();
        docker.killContainerCmd(ContainerSuite.container(compose, carrier).getContainerId()).exec();

        // The first packets go to a TUN that is gone or are dropped until the survivor claims the
        // SAs (docs/gateway.md, "What survives what"): wait up to 30 s for 10 replies, then every
        // one of the next 10 must come back, and the other way too.
        assertPings("host-a", "172.29.10.10", 10, 10, "-w", "30");
        assertPings("host-a", "172.29.10.10", 10, 10);
        assertPings("host-b", "172.29.9.10", 10, 10);

        List<Matcher> after = sas();
        assertThat(spis(after)).as("Keel's CHILD SAs after the kill").isEqualTo(spis);
        assertThat(after).allSatisfy(m -> {
            assertThat(m.group(5)).isEqualTo("ACTIVE");
            assertThat(m.group(6)).isEqualTo(survivorNode);
            assertThat(Long.parseLong(m.group(7))).isGreaterThan(1);
        });
        assertThat(childSpis(exec("peer", "swanctl", "--list-sas").getStdout()))
                .as("the peer's CHILD SA (no new one negotiated)").isEqualTo(peerSasBefore);
    }

    private static void assertPings(String host, String target, int count, int least, String... extra) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("ping", "-c", Integer.toString(count), "-i", "0.2"));
        cmd.addAll(extra.length > 0 ? List.of(extra) : List.of("-w", "10"));
        cmd.add(target);
        ExecResult r = exec(host, cmd.toArray(String[]::new));
        System.out.printf("%s -> %s: %s%n", host, target,
                r.getStdout().lines().filter(l -> l.contains("received")).findFirst().orElse(r.getStdout() + r.getStderr()));
        Matcher m = Pattern.compile("(\\d+) received").matcher(r.getStdout());
        assertThat(m.find()).as(r.getStdout() + r.getStderr()).isTrue();
        assertThat(Integer.parseInt(m.group(1))).as(host + " -> " + target + ": replies").isGreaterThanOrEqualTo(least);
    }

    /** Keel's CHILD SAs as the SAD lists them (keelctl against member sad-a, in the shared namespace). */
    private static List<Matcher> sas() throws Exception {
        ExecResult r = exec("sad-a", "keelctl", "--list-sad", "--uri", "127.0.0.1:7443", "--plaintext");
        return r.getStdout().lines().map(SA_LINE::matcher).filter(Matcher::matches).toList();
    }

    private static Map<String, String> spis(List<Matcher> sas) {
        return sas.stream().collect(Collectors.toMap(m -> m.group(1) + "/" + m.group(2) + "/" + m.group(3), m -> m.group(4)));
    }

    /** The CHILD SA lines of swanctl --list-sas that name it and its SPIs ("lan: #1 …", "in  a16fdcd6", "out …"). */
    private static String childSpis(String listSas) {
        return listSas.lines().map(String::trim)
                .filter(l -> l.startsWith("lan: #") || l.startsWith("in ") || l.startsWith("out "))
                .map(l -> l.replaceAll(",.*", "")).collect(Collectors.joining("\n"));
    }

    private static ExecResult exec(String service, String... command) throws Exception {
        return ContainerSuite.container(compose, service).execInContainer(command);
    }

    private static void printLogs() {
        if (compose == null) {
            return;
        }
        for (String s : List.of("ike-service", "esp-worker-a", "esp-worker-b", "sad-a", "sad-b", "peer")) {
            try {
                String logs = ContainerSuite.container(compose, s).getLogs();
                System.out.println("---- " + s + " ----\n" + (logs.length() > 6000 ? logs.substring(logs.length() - 6000) : logs));
            } catch (RuntimeException | AssertionError e) {
                System.out.println("---- " + s + ": no logs (" + e.getMessage() + ")");
            }
        }
    }
}
