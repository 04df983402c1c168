package dev.keel.esp.tun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.esp.wire.SystemTests;
import java.io.InterruptedIOException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The device's life cycle and failure modes on a real /dev/net/tun (root and iproute2 needed;
 * skipped, or failed under KEEL_REQUIRE_SYSTEM_TESTS=1, without them). Each test makes its
 * own namespace; devices are moved into it as soon as the test no longer needs them in the
 * root namespace, and closed (so gone) before the namespace is removed.
 */
@Timeout(30)
class TunDeviceTest {

    @Test
    void mtuAndLinkStateAreSetWithoutIpAndReadBack() throws Exception {
        try (Netns ns = Netns.create("mtu"); TunDevice tun = TunDevice.open(Netns.uniqueIfName("kmtu"), 1)) {
            String dev = tun.name();
            assertThat(tun.mtu()).isEqualTo(1500);
            assertThat(tun.isUp()).isFalse();

            tun.setMtu(1400);
            tun.setUp(true);

            assertThat(tun.mtu()).isEqualTo(1400);
            assertThat(tun.isUp()).isTrue();
            String shown = Netns.run(Netns.DEFAULT_TIMEOUT, "ip", "-o", "link", "show", "dev", dev).requireOk().output();
            assertThat(shown).contains(dev + ":").contains("mtu 1400").containsPattern("<[^>]*\\bUP\\b[^>]*>");

            tun.setUp(false);
            assertThat(tun.isUp()).isFalse();
            assertThatThrownBy(() -> tun.setMtu(20))
                    .isInstanceOf(TunException.class)
                    .hasMessageContaining("ioctl(SIOCSIFMTU, 20) on TUN device '" + dev + "' failed: EINVAL (Invalid argument)")
                    .hasMessageContaining("68..65535");
            assertThat(tun.mtu()).isEqualTo(1400);

            // In another namespace the MTU stays; the root namespace's socket no longer finds the device.
            ns.adopt(dev);
            assertThat(ns.execOk("ip", "-o", "link", "show", "dev", dev).output()).contains("mtu 1400");
            assertThatThrownBy(() -> tun.setMtu(1300))
                    .isInstanceOfSatisfying(TunException.class, e -> assertThat(e.errnoName()).isEqualTo("ENODEV"))
                    .hasMessageContaining("netns");
        }
    }

    @Test
    void withoutCarrierTheLinkIsDownAndGetsNothingButKeepsItsAddressAndRoutes() throws Exception {
        try (Netns ns = Netns.create("carrier"); TunDevice tun = TunDevice.open(Netns.uniqueIfName("kca"), 1)) {
            String dev = tun.name();
            ns.adopt(dev);
            ns.execOk("ip", "addr", "add", "10.99.0.1/30", "dev", dev);
            ns.execOk("ip", "link", "set", dev, "up");
            assertThat(link(ns, dev)).as("a fresh TUN device").contains("LOWER_UP").doesNotContain("NO-CARRIER");
            assertThat(pingReachesQueue(ns, tun)).as("a ping with carrier").isTrue();

            tun.setCarrier(false);
            assertThat(link(ns, dev)).contains("NO-CARRIER").contains("state DOWN").doesNotContain("LOWER_UP");
            assertThat(ns.execOk("ip", "-o", "addr", "show", "dev", dev).output()).contains("10.99.0.1/30");
            assertThat(ns.execOk("ip", "route", "show", "dev", dev).output()).contains("10.99.0.0/30")
                    .contains("linkdown");
            assertThat(pingReachesQueue(ns, tun)).as("a ping without carrier").isFalse();

            tun.setCarrier(true);
            assertThat(link(ns, dev)).contains("LOWER_UP").doesNotContain("NO-CARRIER");
            assertThat(pingReachesQueue(ns, tun)).as("a ping with carrier again").isTrue();
        }
    }

    private static String link(Netns ns, String dev) throws java.io.IOException {
        return ns.execOk("ip", "-o", "link", "show", "dev", dev).output();
    }

    /** Pings the far end of the device's /30 once; whether an echo request came out of queue 0 within 1.5 s. */
    private static boolean pingReachesQueue(Netns ns, TunDevice tun) throws Exception {
        TunQueue q = tun.queue(0);
        byte[] buf = new byte[TunDevice.MAX_PACKET];
        while (q.read(buf, 0, buf.length, 0) > 0) {
            // drained: router solicitations and the like from bringing the link up
        }
        ns.exec(Duration.ofSeconds(5), "ping", "-n", "-c", "1", "-W", "1", "10.99.0.2");
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_500);
        while (System.nanoTime() < deadline) {
            int n = q.read(buf, 0, buf.length, 100);
            if (n >= 20 && (buf[0] >> 4) == 4 && buf[9] == 1 && buf[20] == 8) { // IPv4, ICMP, echo request
                return true;
            }
        }
        return false;
    }

    @Test
    void aKernelChosenNameIsReadBackAndSharedByAllQueues() throws Exception {
        try (Netns ns = Netns.create("name")) {
            try (TunDevice tun = TunDevice.open(null, 2)) {
                assertThat(tun.name()).matches("tun\\d+");
                ns.adopt(tun.name());
                assertThat(ns.execOk("ip", "-d", "-o", "link", "show", "dev", tun.name()).output())
                        .contains("numqueues 2");
            }
            try (TunDevice tun = TunDevice.open("kt%d", 1)) {
                assertThat(tun.name()).matches("kt\\d+");
                ns.adopt(tun.name());
            }
        }
    }

    @Test
    void aNameTakenByANonTunInterfaceIsRefusedWithTheErrno() {
        SystemTests.assumeRoot();
        // 'lo' exists in every namespace and is no TUN device; nothing is created.
        assertThatThrownBy(() -> TunDevice.open("lo", 1))
                .isInstanceOfSatisfying(TunException.class, e -> {
                    assertThat(e.call()).isEqualTo("ioctl(TUNSETIFF)");
                    assertThat(e.device()).isEqualTo("lo");
                    assertThat(e.errnoName()).isEqualTo("EINVAL");
                })
                .hasMessageStartingWith("ioctl(TUNSETIFF) on TUN device 'lo' failed: EINVAL (Invalid argument): ")
                .hasMessageContaining("non-TUN");
    }

    @Test
    void writesThatCannotBeIpPacketsFailClearly() throws Exception {
        try (Netns ns = Netns.create("write"); TunDevice tun = TunDevice.open(Netns.uniqueIfName("kwr"), 1)) {
            ns.adopt(tun.name());
            TunQueue q = tun.queue(0);
            byte[] big = new byte[TunDevice.MAX_PACKET + 1];
            big[0] = 0x45;

            assertThatThrownBy(() -> q.write(big, 0, big.length))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("65536 bytes").hasMessageContaining("1..65535");
            assertThatThrownBy(() -> q.write(big, 0, 0)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> q.write(new byte[10], 5, 10)).isInstanceOf(IndexOutOfBoundsException.class);

            byte[] notIp = new byte[64];
            notIp[0] = 0x15; // version 1
            assertThatThrownBy(() -> q.write(notIp, 0, notIp.length))
                    .isInstanceOfSatisfying(TunException.class, e -> assertThat(e.errnoName()).isEqualTo("EINVAL"))
                    .hasMessageContaining("write(queue 0, 64 bytes) on TUN device '" + tun.name() + "'")
                    .hasMessageContaining("not an IPv4 or IPv6 packet");
        }
    }

    @Test
    void closeWakesBlockedReadersWithinOneSecond() throws Exception {
        try (Netns ns = Netns.create("close")) {
            TunDevice tun = TunDevice.open(Netns.uniqueIfName("kcl"), 2);
            String dev = tun.name();
            try {
                ns.adopt(dev);
                CompletableFuture<Integer> r0 = blockedRead(tun.queue(0));
                CompletableFuture<Integer> r1 = blockedRead(tun.queue(1));
                Thread.sleep(300);
                assertThat(r0).isNotDone();
                assertThat(r1).isNotDone();

                long start = System.nanoTime();
                tun.close();
                assertThat(r0.get(1, TimeUnit.SECONDS)).isEqualTo(-1);
                assertThat(r1.get(1, TimeUnit.SECONDS)).isEqualTo(-1);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
            } finally {
                tun.close();
            }
            tun.close(); // idempotent
            assertThat(tun.isOpen()).isFalse();
            byte[] buf = new byte[2048];
            assertThat(tun.queue(0).read(buf, 0, buf.length)).isEqualTo(-1);
            assertThat(tun.queue(1).tryRead(buf, 0, buf.length)).isEqualTo(-1);
            buf[0] = 0x45;
            assertThatThrownBy(() -> tun.queue(0).write(buf, 0, 20)).isInstanceOf(ClosedChannelException.class);
            assertThatThrownBy(tun::mtu).isInstanceOf(ClosedChannelException.class);
            assertThat(ns.exec(Netns.DEFAULT_TIMEOUT, "ip", "link", "show", "dev", dev).ok())
                    .as("non-persistent device %s gone with its last queue", dev).isFalse();
        }
    }

    @Test
    void interruptStopsABlockedReader() throws Exception {
        try (Netns ns = Netns.create("intr"); TunDevice tun = TunDevice.open(Netns.uniqueIfName("kin"), 1)) {
            ns.adopt(tun.name());
            CompletableFuture<Throwable> outcome = new CompletableFuture<>();
            Thread reader = Thread.ofPlatform().daemon().start(() -> {
                try {
                    outcome.complete(new AssertionError("read returned " + tun.queue(0).read(new byte[2048], 0, 2048)));
                } catch (Throwable t) {
                    outcome.complete(t);
                }
            });
            Thread.sleep(200);
            reader.interrupt();

            assertThat(outcome.get(2, TimeUnit.SECONDS)).isInstanceOf(InterruptedIOException.class)
                    .hasMessageContaining("interrupted");
            reader.join(1000);
            assertThat(reader.isAlive()).isFalse();
        }
    }

    @Test
    void timedAndNonBlockingReadsReturnZeroWhenNothingComes() throws Exception {
        try (Netns ns = Netns.create("timed"); TunDevice tun = TunDevice.open(Netns.uniqueIfName("kti"), 1)) {
            ns.adopt(tun.name()); // down, no addresses: nothing is routed into it
            byte[] buf = new byte[2048];
            assertThat(tun.queue(0).tryRead(buf, 0, buf.length)).isZero();

            long start = System.nanoTime();
            assertThat(tun.queue(0).read(buf, 0, buf.length, 250)).isZero();
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(240)).isLessThan(Duration.ofSeconds(2));
        }
    }

    @Test
    void aSecondConcurrentReaderOfOneQueueIsRefused() throws Exception {
        try (Netns ns = Netns.create("conc")) {
            TunDevice tun = TunDevice.open(Netns.uniqueIfName("kco"), 1);
            try {
                ns.adopt(tun.name());
                CompletableFuture<Integer> first = blockedRead(tun.queue(0));
                Thread.sleep(200);

                assertThatThrownBy(() -> tun.queue(0).read(new byte[100], 0, 100, 10))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("already being read");
                tun.close();
                assertThat(first.get(1, TimeUnit.SECONDS)).isEqualTo(-1);
            } finally {
                tun.close();
            }
        }
    }

    private static CompletableFuture<Integer> blockedRead(TunQueue q) {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("blocked-reader-" + q.index()).start(() -> {
            try {
                f.complete(q.read(new byte[2048], 0, 2048));
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f;
    }
}
