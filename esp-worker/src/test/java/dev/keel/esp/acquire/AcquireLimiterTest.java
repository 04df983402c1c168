package dev.keel.esp.acquire;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.spd.SpdEntry;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.packet.InnerPackets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One acquire in flight per policy; re-armed after the timeout or by clear(). */
class AcquireLimiterTest {

    private static final SpdEntry NET = SpdEntry.protect("site-b", "net", TrafficSelector.parse("10.1.0.0/16"),
            TrafficSelector.parse("10.2.0.0/16"));
    private static final SpdEntry WEB = SpdEntry.protect("site-b", "web", TrafficSelector.parse("10.1.0.0/16"),
            TrafficSelector.parse("10.3.0.0/16"));

    @Test
    void oneInFlightPerPolicyThenReArmed() throws Exception {
        List<Acquire> got = new ArrayList<>();
        AcquireLimiter l = new AcquireLimiter(got::add, Runnable::run, Duration.ofMillis(200));
        byte[] p = InnerPackets.ipv4(17, 20, 1);
        IpPacketInfo info = new IpPacketInfo();
        assertThat(info.parse(p, 0, p.length)).isTrue();
        assertThat(l.onMiss(NET, info, p)).isTrue();
        for (int i = 0; i < 100; i++) {
            assertThat(l.onMiss(NET, info, p)).isFalse();
        }
        assertThat(l.onMiss(WEB, info, p)).isTrue(); // another policy has its own slot
        assertThat(got).hasSize(2);
        Thread.sleep(250);
        assertThat(l.onMiss(NET, info, p)).as("re-armed after the timeout").isTrue();
        l.clear(NET.name());
        assertThat(l.onMiss(NET, info, p)).as("re-armed by clear").isTrue();
        assertThat(l.fired()).isEqualTo(4);
        assertThat(l.suppressed()).isEqualTo(100);
        assertThat(got.getFirst().source().toString()).isEqualTo("10.1.0.5");
    }
}
