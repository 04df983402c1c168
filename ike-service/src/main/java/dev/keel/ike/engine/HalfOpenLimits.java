package dev.keel.ike.engine;

import java.time.Duration;

/**
 * What the responder lets half-open IKE SAs cost it (RFC 7296 §2.6), under strongSwan's names
 * (strongswan.conf {@code charon.*}); the defaults suit a gateway.
 *
 * @param cookieThreshold      demand cookies while this many IKE SAs are half open ({@code cookie_threshold})
 * @param cookieThresholdIp    demand cookies from an address with this many half open ({@code cookie_threshold_ip})
 * @param halfOpenLimit        refuse new IKE_SA_INITs beyond this many half open ({@code init_limit_half_open})
 * @param blockThreshold       refuse new IKE_SA_INITs from an address with this many half open ({@code block_threshold})
 * @param halfOpenTimeout      a half-open IKE SA not authenticated by then is dropped ({@code half_open_timeout})
 * @param cookieSecretLifetime the cookie secret is replaced this often; a cookie stays valid for up to
 *                             two lifetimes ({@code cookie_secret_lifetime}); zero: never
 */
public record HalfOpenLimits(int cookieThreshold, int cookieThresholdIp, int halfOpenLimit, int blockThreshold,
        Duration halfOpenTimeout, Duration cookieSecretLifetime) {

    /**
     * The largest first IKE_SA_INIT request a responder takes. A half-open IKE SA keeps it (AUTH
     * signs it, §2.15), so this bounds what one costs; RFC 7296 §2 asks for 3,000 bytes, and even a
     * 1,568-byte ML-KEM-1024 public value leaves ample room for proposals and notifies.
     */
    public static final int MAX_INIT_REQUEST = 8_192;

    /**
     * Cookies from 1,000 half-open SAs or 32 from one address; refuse beyond 10,000 or 128 from
     * one address; 30 s to authenticate; a new cookie secret every 60 s. (strongSwan: 10 / 3 / 0 /
     * 5 / 30 s, sized for a host rather than a gateway cluster.)
     */
    public static final HalfOpenLimits DEFAULT = new HalfOpenLimits(1_000, 32, 10_000, 128, Duration.ofSeconds(30),
            Duration.ofSeconds(60));

    /** Checks the ranges. */
    public HalfOpenLimits {
        if (cookieThreshold < 0 || cookieThresholdIp < 0 || halfOpenLimit < 1 || blockThreshold < 1) {
            throw new IllegalArgumentException("half-open limits must be positive, thresholds not negative");
        }
        if (!halfOpenTimeout.isPositive() || cookieSecretLifetime.isNegative()) {
            throw new IllegalArgumentException("half_open_timeout must be positive, cookie_secret_lifetime not negative");
        }
    }
}
