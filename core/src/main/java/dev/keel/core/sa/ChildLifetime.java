package dev.keel.core.sa;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * When a CHILD SA is rekeyed and when it ends, by time, bytes and packets: swanctl's
 * {@code rekey_*}, {@code life_*} and {@code rand_*} keys, RFC 4301 §4.4.2.1's soft and hard
 * lifetimes. Whichever limit is reached first counts.
 *
 * @param millis  by age in milliseconds
 * @param bytes   by bytes of protected payload, each direction counted apart
 * @param packets by packets, each direction counted apart
 */
public record ChildLifetime(Limit millis, Limit bytes, Limit packets) {

    /**
     * Only time: rekey after {@code rekey} (zero: never) less up to a tenth of it, end after
     * {@code life} (zero: never); no volume limit.
     */
    public static ChildLifetime ofTime(Duration rekey, Duration life) {
        long r = rekey.toMillis();
        long l = life.toMillis();
        long rand = l > 0 ? Math.min(Math.max(0, l - r), r / 10) : r / 10;
        return new ChildLifetime(new Limit(r, l, rand), Limit.NONE, Limit.NONE);
    }

    /** The time-based rekey, zero for never. */
    public Duration rekeyTime() {
        return Duration.ofMillis(millis.rekey);
    }

    /** The hard lifetime, zero for never. */
    public Duration lifeTime() {
        return Duration.ofMillis(millis.life);
    }

    /**
     * One kind of limit; 0 in a field means none of that.
     *
     * @param rekey soft limit: rekey when reached, less a random part of {@code rand}
     * @param life  hard limit: the SA ends; above {@code rekey} when both are set
     * @param rand  the most the rekey comes early, so that both ends rarely rekey at once (RFC 7296
     *              §2.8.1); below {@code rekey} when that is set
     */
    public record Limit(long rekey, long life, long rand) {

        /** No limit. */
        public static final Limit NONE = new Limit(0, 0, 0);

        /** Checks the rules above. */
        public Limit {
            if (rekey < 0 || life < 0 || rand < 0) {
                throw new IllegalArgumentException("lifetime limits must not be negative: " + this);
            }
            if (rekey > 0 && life > 0 && life <= rekey) {
                throw new IllegalArgumentException("hard limit " + life + " must be above the rekey limit " + rekey);
            }
            if (rekey > 0 && rand >= rekey) {
                throw new IllegalArgumentException("random part " + rand + " must be below the rekey limit " + rekey);
            }
        }

        /** The soft limit of one SA: {@code rekey} less a random part of {@code rand}, at least 1; 0 when none. */
        public long soft(RandomGenerator random) {
            return rekey == 0 ? 0 : rekey - (rand == 0 ? 0 : random.nextLong(rand + 1));
        }
    }
}
