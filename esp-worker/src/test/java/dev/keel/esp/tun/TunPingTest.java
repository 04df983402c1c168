package dev.keel.esp.tun;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.SystemTests;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A two-queue TUN device moved into a namespace of the test's own, addressed there with
 * {@code ip}; {@code ping} inside the namespace gets its echo requests routed into the device
 * and the test, reading the queues from the root namespace, answers them.
 */
@Timeout(60)
class TunPingTest {

    @Test
    void pingOverIpv4IsAnsweredFromTheQueues() throws Exception {
        pingThroughTun("198.18.7.1/30", "198.18.7.2", false);
    }

    @Test
    void pingOverIpv6IsAnsweredFromTheQueues() throws Exception {
        pingThroughTun("2001:db8:7::1/64", "2001:db8:7::2", true);
    }

    private static void pingThroughTun(String local, String peer, boolean v6) throws Exception {
        SystemTests.assumeTool("ping");
        try (Netns ns = Netns.create(v6 ? "ping6" : "ping4")) {
            TunDevice tun = TunDevice.open(Netns.uniqueIfName("kping"), 2);
            String dev = tun.name();
            EchoResponder responder = null;
            try {
                responder = new EchoResponder(tun, InetAddress.getByName(peer).getAddress());
                assertThat(tun.queueCount()).isEqualTo(2);
                assertThat(tun.queue(0).fd()).isNotEqualTo(tun.queue(1).fd());
                tun.setMtu(1420);
                ns.adopt(dev); // the queue fds stay valid across the move

                BoundedCommand.Result link = ns.execOk("ip", "-d", "-o", "link", "show", "dev", dev);
                assertThat(link.output()).contains("mtu 1420").contains("multi_queue").contains("numqueues 2");
                if (v6) {
                    ns.execOk("ip", "-6", "addr", "add", local, "dev", dev, "nodad");
                } else {
                    ns.execOk("ip", "addr", "add", local, "dev", dev);
                }
                ns.execOk("ip", "link", "set", "dev", dev, "up");

                BoundedCommand.Result ping = ns.exec(Duration.ofSeconds(20),
                        "ping", v6 ? "-6" : "-4", "-c", "3", "-W", "1", "-i", "0.2", "-n", peer);

                assertThat(ping.exitCode()).as("%s", ping).isZero();
                assertThat(ping.output()).as("%s", ping).contains("3 received");
                int[] perQueue = responder.requestsPerQueue();
                assertThat(Arrays.stream(perQueue).sum()).as("echo requests per queue %s",
                        Arrays.toString(perQueue)).isGreaterThanOrEqualTo(3);

                responder.close(); // closes the device: the readers must end cleanly
                assertThat(responder.awaitEnd(100)).as("reader threads ended after close").isTrue();
                assertThat(responder.failures()).isEmpty();
            } finally {
                if (responder != null) {
                    responder.close();
                }
                tun.close();
            }
            // With its last queue closed the device is gone.
            assertThat(ns.exec(Netns.DEFAULT_TIMEOUT, "ip", "link", "show", "dev", dev).ok())
                    .as("device %s gone after close", dev).isFalse();
        }
    }
}
