package dev.keel.ike.engine;

import dev.keel.core.sa.ChildLifetime;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.task.ChildRekeyTask;
import dev.keel.ike.task.DeleteTask;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rekey and hard-lifetime timers of CHILD SAs (strongSwan's rekey_time / life_time, RFC 7296
 * §2.8): set when a CHILD SA is made, again from the recorded deadlines after a takeover; they
 * follow the CHILD SA to a rekeyed IKE SA and stop when it is deleted.
 */
final class ChildLifetimes {

    private static final Logger LOG = LoggerFactory.getLogger(ChildLifetimes.class);

    private final SecureRandom random;

    ChildLifetimes(SecureRandom random) {
        this.random = random;
    }

    /**
     * The timers of a new CHILD SA: the rekey comes up to rand_time early (jitter keeps both peers
     * from rekeying at the same moment, RFC 7296 §2.8.1), the hard end at life_time.
     */
    void start(IkeSa sa, ChildSa child) {
        Optional<ChildConnection> config = sa.connection().child(child.name());
        if (config.isEmpty()) {
            return;
        }
        ChildLifetime.Limit time = config.get().lifetime().millis();
        long now = sa.timers().epochMillis();
        long rekeyAt = time.rekey() > 0 ? now + time.soft(random) : 0;
        long expireAt = time.life() > 0 ? now + time.life() : 0;
        sa.childSas().deadlines(child.inboundSpi(), rekeyAt, expireAt);
        resume(sa, child.inboundSpi(), rekeyAt, expireAt);
    }

    /**
     * The rekey and hard-lifetime timers of the CHILD SA with inbound SPI {@code spi}, due at
     * Unix epoch ms (0: never), in the past firing at once: deadlines survive a takeover.
     */
    void resume(IkeSa sa, int spi, long rekeyAt, long expireAt) {
        long now = sa.timers().epochMillis();
        if (rekeyAt > 0) {
            sa.childSas().addTimer(spi, sa.timers().schedule(Duration.ofMillis(Math.max(0, rekeyAt - now)), () -> {
                IkeSa current = sa.current();
                current.childSas().byInboundSpi(spi).ifPresent(c -> LOG.info("{}: rekeying {}, rekey_time reached", current, c));
                ChildRekeyTask.start(sa, spi);
            }));
        }
        if (expireAt > 0) {
            sa.childSas().addTimer(spi, sa.timers().schedule(Duration.ofMillis(Math.max(0, expireAt - now)),
                    () -> expire(sa, spi)));
        }
    }

    /**
     * Deletes the CHILD SA with inbound SPI {@code inboundSpi} of {@code first} or, after rekeys, of
     * the IKE SA that holds it now: its hard lifetime ran out. Nothing when it is gone.
     */
    static void expire(IkeSa first, int inboundSpi) {
        IkeSa sa = first.current();
        if (!sa.isAlive()) {
            return;
        }
        sa.childSas().byInboundSpi(inboundSpi).ifPresent(child -> {
            LOG.info("{}: deleting {}: hard lifetime reached", sa, child);
            sa.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.childSa(sa, child));
        });
    }
}
