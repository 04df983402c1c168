package dev.keel.ike.engine;

import dev.keel.ike.session.IkeSa;
import java.time.Duration;

/**
 * NAT keepalives (RFC 3948 §2.3, RFC 7296 §2.23): the side behind a NAT sends one 0xFF byte to
 * the peer's NAT-T port every interval, so that the NAT keeps the mapping ESP in UDP relies on.
 * Sent whether or not ESP went out meanwhile (strongSwan skips one after other traffic; an
 * extra byte every 20 s costs less than tracking the data plane's sends here).
 */
final class NatKeepalives {

    private NatKeepalives() {
    }

    /**
     * Starts keepalives for {@code sa} every {@code interval} (zero or negative: none) when NAT
     * detection found a NAT in front of us; that finding is made once, in IKE_SA_INIT.
     */
    static void start(IkeSa sa, Duration interval) {
        if (interval.isPositive() && sa.endpoints().natHere()) {
            next(sa, interval);
        }
    }

    private static void next(IkeSa sa, Duration interval) {
        sa.timers().schedule(interval, () -> {
            if (!sa.isAlive() || sa.successor() != null) {
                return; // a rekeyed IKE SA's replacement sends its own
            }
            // §2.23: only the side behind a NAT sends them; its endpoints floated to 4500
            sa.env().transport().sendNatKeepalive(sa.endpoints().remote());
            next(sa, interval);
        });
    }
}
