package dev.keel.ike.session;

import java.time.Duration;

/**
 * When a request is sent again and when the initiator gives up (RFC 7296 §2.1: retransmit with
 * exponential back-off until the request is answered or the IKE SA is deemed dead).
 *
 * <p>The defaults are strongSwan's ({@code retransmit_timeout 4.0, retransmit_base 1.8,
 * retransmit_tries 5}): sends at 0, 4, 11.2, 24.2, 47.5 and 89.5 s, declared dead at 165 s.
 *
 * @param timeout first wait before the first retransmission
 * @param base    factor applied to each further wait
 * @param tries   retransmissions before giving up
 */
public record RetransmitPolicy(Duration timeout, double base, int tries) {

    /** strongSwan's defaults. */
    public static final RetransmitPolicy DEFAULT = new RetransmitPolicy(Duration.ofSeconds(4), 1.8, 5);

    /** Validates. */
    public RetransmitPolicy {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        if (base < 1.0) {
            throw new IllegalArgumentException("base must be >= 1: " + base);
        }
        if (tries < 0 || tries > 20) {
            throw new IllegalArgumentException("tries must be 0..20: " + tries);
        }
    }

    /** The wait after send number {@code attempt} (0 = the first send). */
    public Duration delayAfter(int attempt) {
        return Duration.ofMillis(Math.round(timeout.toMillis() * Math.pow(base, attempt)));
    }
}
