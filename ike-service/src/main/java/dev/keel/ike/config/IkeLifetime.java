package dev.keel.ike.config;

import java.time.Duration;

/**
 * When an IKE SA is rekeyed and when it ends at the latest (swanctl's {@code rekey_time},
 * {@code over_time}, {@code rand_time}): the rekey comes at {@code rekeyTime} minus a random part
 * of {@code randTime}; an IKE SA not rekeyed by {@code overTime} after that is deleted.
 *
 * @param rekeyTime when to rekey the IKE SA; zero for never (then nothing ends it either)
 * @param overTime  how long after the rekey was due the IKE SA is deleted if it was not rekeyed
 * @param randTime  the most the rekey comes early, so that both ends rarely rekey at once
 *                  (RFC 7296 §2.8.1); below {@code rekeyTime}
 */
public record IkeLifetime(Duration rekeyTime, Duration overTime, Duration randTime) {

    /** No scheduled rekey, no hard end. */
    public static final IkeLifetime NEVER = new IkeLifetime(Duration.ZERO, Duration.ZERO, Duration.ZERO);

    /** Checks the durations. */
    public IkeLifetime {
        if (rekeyTime.isNegative() || overTime.isNegative() || randTime.isNegative()) {
            throw new IllegalArgumentException("IKE SA lifetimes must not be negative: " + rekeyTime + ", "
                    + overTime + ", " + randTime);
        }
        if (rekeyTime.isPositive() && randTime.compareTo(rekeyTime) >= 0) {
            throw new IllegalArgumentException("rand_time (" + randTime.toSeconds() + "s) must be below rekey_time ("
                    + rekeyTime.toSeconds() + "s)");
        }
    }

    /** From seconds, as policy-service's {@code Connection} carries them. */
    public static IkeLifetime ofSeconds(long rekeyTime, long overTime, long randTime) {
        return new IkeLifetime(Duration.ofSeconds(rekeyTime), Duration.ofSeconds(overTime), Duration.ofSeconds(randTime));
    }
}
