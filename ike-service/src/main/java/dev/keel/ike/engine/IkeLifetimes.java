package dev.keel.ike.engine;

import dev.keel.ike.config.IkeLifetime;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import dev.keel.ike.task.DeleteTask;
import dev.keel.ike.task.IkeRekeyTask;
import java.security.SecureRandom;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rekey and hard-lifetime timers of IKE SAs (swanctl's {@code rekey_time}, {@code rand_time},
 * {@code over_time}; RFC 7296 §2.8, §2.18): set when an IKE SA is established, as initiator or
 * responder, made by a rekey (it gets its own), or taken over from another node (from when it was
 * established there). Both ends may rekey; the jitter makes a collision rare (§2.8.1) and
 * {@link IkeRekeyTask} resolves one.
 */
final class IkeLifetimes {

    private static final Logger LOG = LoggerFactory.getLogger(IkeLifetimes.class);

    private final SecureRandom random;

    IkeLifetimes(SecureRandom random) {
        this.random = random;
    }

    /**
     * Schedules {@code sa}'s rekey at {@code rekey_time} minus a random part of {@code rand_time}
     * after it was established (now when that is not known), and its deletion at {@code rekey_time}
     * + {@code over_time} unless it was rekeyed by then (strongSwan's maximum IKE_SA lifetime).
     * Deadlines already past fire at once. On {@code sa}'s thread.
     */
    void start(IkeSa sa) {
        IkeLifetime l = sa.connection().lifetime();
        if (!l.rekeyTime().isPositive()) {
            return;
        }
        long now = sa.timers().epochMillis();
        long since = sa.establishedAtMillis() > 0 ? sa.establishedAtMillis() : now;
        long jitter = l.randTime().isPositive() ? random.nextLong(l.randTime().toMillis()) : 0;
        long rekeyAt = since + l.rekeyTime().toMillis() - jitter;
        long expireAt = since + l.rekeyTime().toMillis() + l.overTime().toMillis();
        sa.deadlines(rekeyAt, expireAt,
                sa.timers().schedule(Duration.ofMillis(Math.max(0, rekeyAt - now)), () -> rekey(sa)),
                sa.timers().schedule(Duration.ofMillis(Math.max(0, expireAt - now)), () -> expire(sa)));
    }

    private static void rekey(IkeSa sa) {
        if (sa.isAlive() && sa.successor() == null && sa.state() == IkeSaState.ESTABLISHED) {
            LOG.info("{}: rekeying, rekey_time reached", sa);
            IkeRekeyTask.start(sa);
        }
    }

    /**
     * Deletes {@code sa} if it is still the established IKE SA: with a Delete when no exchange is
     * in flight, at once when one is (the rekey to a silent peer, say), as its lifetime is over.
     */
    private static void expire(IkeSa sa) {
        if (!sa.isAlive() || sa.successor() != null || sa.state() != IkeSaState.ESTABLISHED) {
            return; // rekeyed (the replacement has its own deadlines), or already going
        }
        String reason = "maximum IKE SA lifetime reached (rekey_time + over_time) without a rekey";
        if (sa.tasks().busy()) {
            sa.destroy(reason);
        } else {
            LOG.info("{}: deleting, {}", sa, reason);
            sa.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.ikeSa(sa));
        }
    }
}
