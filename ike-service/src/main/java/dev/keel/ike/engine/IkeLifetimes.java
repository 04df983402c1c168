package dev.keel.ike.engine;

import dev.keel.ike.config.IkeLifetime;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import dev.keel.ike.session.IkeTimers;
import dev.keel.ike.task.DeleteTask;
import dev.keel.ike.task.IkeRekeyTask;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rekey, reauthentication and hard-lifetime timers of IKE SAs (swanctl's {@code rekey_time},
 * {@code reauth_time}, {@code rand_time}, {@code over_time}; RFC 7296 §2.8, §2.8.3, §2.18): set
 * when an IKE SA is established, as initiator or responder, made by a rekey (it gets its own rekey
 * time and keeps its predecessor's reauthentication time), or taken over from another node (from
 * when it was established there). Both ends may rekey; the jitter makes a collision rare and
 * {@link IkeRekeyTask} resolves one (§2.8.2).
 */
final class IkeLifetimes {

    private static final Logger LOG = LoggerFactory.getLogger(IkeLifetimes.class);

    private final SecureRandom random;
    /** Reauthenticates an IKE SA, make-before-break ({@link IkeEngine#reauthenticate}). */
    private final Consumer<IkeSa> reauthenticate;

    IkeLifetimes(SecureRandom random, Consumer<IkeSa> reauthenticate) {
        this.random = random;
        this.reauthenticate = reauthenticate;
    }

    /**
     * Schedules {@code sa}'s rekey at {@code rekey_time} and its reauthentication at
     * {@code reauth_time} (kept from the IKE SA a rekey replaced), each minus a random part of
     * {@code rand_time}, after it was established (now when that is not known), and its deletion
     * at the earlier of the two + {@code over_time} unless it was rekeyed or reauthenticated by
     * then (strongSwan's maximum IKE_SA lifetime). Deadlines already past fire at once. On
     * {@code sa}'s thread.
     */
    void start(IkeSa sa) {
        IkeLifetime l = sa.connection().lifetime();
        if (l.never()) {
            return;
        }
        long now = sa.timers().epochMillis();
        long since = sa.establishedAtMillis() > 0 ? sa.establishedAtMillis() : now;
        long rekeyAt = 0;
        long reauthAt = 0;
        long expireAt = Long.MAX_VALUE;
        List<IkeTimers.Cancellable> timers = new ArrayList<>(3);
        if (l.rekeyTime().isPositive()) {
            rekeyAt = since + l.rekeyTime().toMillis() - jitter(l);
            expireAt = since + l.rekeyTime().toMillis() + l.overTime().toMillis();
            timers.add(sa.timers().schedule(Duration.ofMillis(Math.max(0, rekeyAt - now)), () -> rekey(sa)));
        }
        if (l.reauthTime().isPositive()) {
            reauthAt = sa.reauthAtMillis() > 0 ? sa.reauthAtMillis() : since + l.reauthTime().toMillis() - jitter(l);
            expireAt = Math.min(expireAt, reauthAt + l.overTime().toMillis());
            timers.add(sa.timers().schedule(Duration.ofMillis(Math.max(0, reauthAt - now)), () -> reauth(sa)));
        }
        long end = expireAt;
        String why = reauthAt > 0 && reauthAt + l.overTime().toMillis() == end
                ? "(reauth_time + over_time) without a reauthentication" : "(rekey_time + over_time) without a rekey";
        timers.add(sa.timers().schedule(Duration.ofMillis(Math.max(0, end - now)), () -> expire(sa, why)));
        sa.deadlines(rekeyAt, reauthAt, end, timers.toArray(IkeTimers.Cancellable[]::new));
    }

    private long jitter(IkeLifetime l) {
        return l.randTime().isPositive() ? random.nextLong(l.randTime().toMillis()) : 0;
    }

    private static void rekey(IkeSa sa) {
        if (sa.isAlive() && sa.successor() == null && sa.state() == IkeSaState.ESTABLISHED) {
            LOG.info("{}: rekeying, rekey_time reached", sa);
            IkeRekeyTask.start(sa);
        }
    }

    private void reauth(IkeSa sa) {
        if (sa.isAlive() && sa.successor() == null && sa.state() == IkeSaState.ESTABLISHED) {
            LOG.info("{}: reauthenticating, reauth_time reached", sa);
            reauthenticate.accept(sa);
        }
    }

    /**
     * Deletes {@code sa} if it is still the established IKE SA: with a Delete when no exchange is
     * in flight, at once when one is (the rekey to a silent peer, say), as its lifetime is over.
     */
    private static void expire(IkeSa sa, String why) {
        if (!sa.isAlive() || sa.successor() != null || sa.state() != IkeSaState.ESTABLISHED) {
            return; // rekeyed (the replacement has its own deadlines), or already going
        }
        String reason = "maximum IKE SA lifetime reached " + why;
        if (sa.tasks().busy()) {
            sa.destroy(reason);
        } else {
            LOG.info("{}: deleting, {}", sa, reason);
            sa.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.ikeSa(sa));
        }
    }
}
