package dev.keel.ike.engine;

import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.task.DpdTask;
import dev.keel.ike.task.MobikeTask;
import java.time.Duration;

/**
 * Dead peer detection (RFC 7296 §1.4, §2.4): dpdDelay after the last authenticated message from
 * the peer, an empty INFORMATIONAL request unless one of ours is already outstanding; an
 * unanswered one ends the IKE SA through the retransmission limit.
 */
final class DeadPeerDetection {

    private DeadPeerDetection() {
    }

    /** Starts checking {@code sa}'s peer, when its connection has a dpdDelay. */
    static void start(IkeSa sa) {
        Duration delay = sa.connection().dpdDelay();
        if (delay.isPositive()) {
            check(sa, delay, delay);
        }
    }

    private static void check(IkeSa sa, Duration delay, Duration after) {
        sa.timers().schedule(after, () -> {
            if (!sa.isAlive() || sa.successor() != null) {
                return; // a rekeyed IKE SA's replacement runs its own checks
            }
            long idle = sa.timers().nowMillis() - sa.lastInboundMillis();
            if (idle < delay.toMillis()) { // heard from the peer meanwhile: check dpdDelay after that
                check(sa, delay, Duration.ofMillis(delay.toMillis() - idle));
                return;
            }
            if (!sa.tasks().busy()) {
                // behind a NAT with MOBIKE the peer follows only our updates: learn of a changed mapping (RFC 4555 §3.8)
                sa.tasks().queue(ExchangeType.INFORMATIONAL, sa.mobike() && sa.endpoints().natHere()
                        ? MobikeTask.liveness(sa) : new DpdTask());
            }
            check(sa, delay, delay);
        });
    }
}
