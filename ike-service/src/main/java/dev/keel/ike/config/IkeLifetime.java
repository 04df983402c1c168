package dev.keel.ike.config;

import java.time.Duration;

/**
 * When an IKE SA is rekeyed, reauthenticated and when it ends at the latest (swanctl's
 * {@code rekey_time}, {@code reauth_time}, {@code over_time}, {@code rand_time}): the rekey comes
 * at {@code rekeyTime} and the reauthentication at {@code reauthTime}, each minus a random part of
 * {@code randTime}; an IKE SA neither rekeyed nor reauthenticated by {@code overTime} after the
 * earlier of the two is deleted.
 *
 * @param rekeyTime  when to rekey the IKE SA; zero for never
 * @param overTime   how long after the rekey (or reauthentication) was due the IKE SA is deleted if it
 *                   was not rekeyed (reauthenticated)
 * @param randTime   the most the rekey and the reauthentication come early, so that both ends rarely
 *                   rekey at once (RFC 7296 §2.8.1); below {@code rekeyTime} and {@code reauthTime}
 * @param reauthTime when to reauthenticate the IKE SA: a new IKE SA with full IKE_SA_INIT and
 *                   IKE_AUTH and the same CHILD SAs, made before the old one is deleted; zero for never
 */
public record IkeLifetime(Duration rekeyTime, Duration overTime, Duration randTime, Duration reauthTime) {

    /** No scheduled rekey or reauthentication, no hard end. */
    public static final IkeLifetime NEVER = new IkeLifetime(Duration.ZERO, Duration.ZERO, Duration.ZERO);

    /** Checks the durations. */
    public IkeLifetime {
        if (rekeyTime.isNegative() || overTime.isNegative() || randTime.isNegative() || reauthTime.isNegative()) {
            throw new IllegalArgumentException("IKE SA lifetimes must not be negative: " + rekeyTime + ", "
                    + overTime + ", " + randTime + ", " + reauthTime);
        }
        if (rekeyTime.isPositive() && randTime.compareTo(rekeyTime) >= 0) {
            throw new IllegalArgumentException("rand_time (" + randTime.toSeconds() + "s) must be below rekey_time ("
                    + rekeyTime.toSeconds() + "s)");
        }
        if (reauthTime.isPositive() && randTime.compareTo(reauthTime) >= 0) {
            throw new IllegalArgumentException("rand_time (" + randTime.toSeconds() + "s) must be below reauth_time ("
                    + reauthTime.toSeconds() + "s)");
        }
    }

    /** Without reauthentication. */
    public IkeLifetime(Duration rekeyTime, Duration overTime, Duration randTime) {
        this(rekeyTime, overTime, randTime, Duration.ZERO);
    }

    /** From seconds, without reauthentication. */
    public static IkeLifetime ofSeconds(long rekeyTime, long overTime, long randTime) {
        return ofSeconds(rekeyTime, overTime, randTime, 0);
    }

    /** From seconds, as policy-service's {@code Connection} carries them. */
    public static IkeLifetime ofSeconds(long rekeyTime, long overTime, long randTime, long reauthTime) {
        return new IkeLifetime(Duration.ofSeconds(rekeyTime), Duration.ofSeconds(overTime),
                Duration.ofSeconds(randTime), Duration.ofSeconds(reauthTime));
    }

    /** True when neither a rekey nor a reauthentication is scheduled (and so nothing ends the IKE SA). */
    public boolean never() {
        return !rekeyTime.isPositive() && !reauthTime.isPositive();
    }
}
