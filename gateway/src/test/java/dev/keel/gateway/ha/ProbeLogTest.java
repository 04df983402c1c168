package dev.keel.gateway.ha;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The failover figures read from udp_probe.py's and ping's logs. */
class ProbeLogTest {

    private static final long MS = 1_000_000;

    /**
     * One packet a millisecond; the kill at 100 ms, the victim gone at 103 ms; the victim still
     * passes the packet sent at 101 ms; the survivor passes packets from 400 ms on (the echoes
     * from 450 ms on); one packet reaches the echo host twice.
     */
    private static ProbeLog failover() {
        ProbeLog p = new ProbeLog();
        for (long seq = 1; seq <= 1000; seq++) {
            long sent = seq * MS;
            p.add("S " + seq + " " + sent);
            boolean forward = sent <= 101 * MS || sent >= 400 * MS;
            if (forward) {
                p.add("E " + seq + " " + (sent + 2 * MS));
                if (sent <= 101 * MS || sent >= 450 * MS) {
                    p.add("R " + seq + " " + (sent + 4 * MS));
                }
            }
        }
        p.add("E 700 " + 705 * MS); // a duplicate at the echo host
        p.add("S 10"); // a line cut short at the end of a log
        return p;
    }

    @Test
    void resumptionCountsOnlyPacketsSentOnceTheVictimWasGone() {
        ProbeLog.Window w = failover().around(100 * MS, 103 * MS, 500 * MS);
        assertThat(w.forwardResumeNanos()).as("first arrival of a packet sent after 103 ms").isEqualTo(302 * MS);
        assertThat(w.returnResumeNanos()).as("first echo sent after 103 ms that came back").isEqualTo(354 * MS);
        assertThat(w.resumeNanos()).isEqualTo(354 * MS);
        assertThat(w.forwardLost()).as("sent 102..399 ms, never echoed").isEqualTo(298);
        assertThat(w.returnLost()).as("echoed 402..451 ms (sent 400..449), never back").isEqualTo(50);
    }

    @Test
    void duplicatesAreCountedPerDirection() {
        ProbeLog p = failover();
        assertThat(p.forwardDuplicates()).containsExactly(700L);
        assertThat(p.returnDuplicates()).isEmpty();
        assertThat(p.sent()).isEqualTo(1000);
    }

    @Test
    void noResumptionWithinTheWindowIsMinusOne() {
        ProbeLog.Window w = failover().around(100 * MS, 103 * MS, 200 * MS);
        assertThat(w.forwardResumeNanos()).isEqualTo(-1);
        assertThat(w.resumeNanos()).isEqualTo(-1);
    }

    @Test
    void pingRepliesDuplicatesAndResumption() {
        PingLog p = new PingLog();
        p.add("PING 10.1.0.2 (10.1.0.2) 56(84) bytes of data.");
        p.add("[1000.000100] 64 bytes from 10.1.0.2: icmp_seq=1 ttl=61 time=0.100 ms");
        p.add("[1000.010100] 64 bytes from 10.1.0.2: icmp_seq=2 ttl=61 time=0.100 ms");
        p.add("[1000.010200] 64 bytes from 10.1.0.2: icmp_seq=2 ttl=61 time=0.200 ms (DUP!)");
        p.add("[1000.500300] 64 bytes from 10.1.0.2: icmp_seq=51 ttl=61 time=0.300 ms");
        assertThat(p.replies()).isEqualTo(2 + 1);
        assertThat(p.duplicates()).isEqualTo(1);
        long kill = 1000_015_000_000L;
        PingLog.Window w = p.around(kill, kill + 5 * MS);
        assertThat(w.resumeNanos()).isEqualTo(1000_500_300_000L - kill);
        assertThat(w.lost()).as("requests 3..50").isEqualTo(48);
    }
}
