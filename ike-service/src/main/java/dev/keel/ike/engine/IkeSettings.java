package dev.keel.ike.engine;

import java.time.Duration;

/**
 * The IKE engine's node-wide settings ({@code gateway.ike}, ike-service's {@code --ike}) under
 * strongSwan's names (strongswan.conf {@code charon.*}); the defaults suit a gateway: what the
 * responder lets half-open IKE SAs cost it (RFC 7296 §2.6) and the IKE fragment size (RFC 7383).
 *
 * @param cookieThreshold      demand cookies while this many IKE SAs are half open ({@code cookie_threshold})
 * @param cookieThresholdIp    demand cookies from an address with this many half open ({@code cookie_threshold_ip})
 * @param halfOpenLimit        refuse new IKE_SA_INITs beyond this many half open ({@code init_limit_half_open})
 * @param blockThreshold       refuse new IKE_SA_INITs from an address with this many half open ({@code block_threshold})
 * @param halfOpenTimeout      a half-open IKE SA not authenticated by then is dropped ({@code half_open_timeout})
 * @param cookieSecretLifetime the cookie secret is replaced this often; a cookie stays valid for up to
 *                             two lifetimes ({@code cookie_secret_lifetime}); zero: never
 * @param fragmentSize         the largest IP datagram an IKE fragment (RFC 7383) may make, IP and UDP
 *                             headers included; 0: 576 over IPv4, 1280 over IPv6 ({@code fragment_size})
 */
public record IkeSettings(int cookieThreshold, int cookieThresholdIp, int halfOpenLimit, int blockThreshold,
        Duration halfOpenTimeout, Duration cookieSecretLifetime, int fragmentSize) {

    /** strongSwan's {@code charon.fragment_size} default: 1280 bytes, whole IP datagram, either family. */
    public static final int DEFAULT_FRAGMENT_SIZE = 1280;
    /** The smallest {@code fragment_size}: IPv4's minimum reassembly size (RFC 791), RFC 7383 §2.5.1's conservative IPv4 size. */
    public static final int MIN_FRAGMENT_SIZE = 576;

    /** The limits with the default fragment size. */
    public IkeSettings(int cookieThreshold, int cookieThresholdIp, int halfOpenLimit, int blockThreshold,
            Duration halfOpenTimeout, Duration cookieSecretLifetime) {
        this(cookieThreshold, cookieThresholdIp, halfOpenLimit, blockThreshold, halfOpenTimeout, cookieSecretLifetime,
                DEFAULT_FRAGMENT_SIZE);
    }

    /** This record with {@code fragment_size} {@code size}. */
    public IkeSettings withFragmentSize(int size) {
        return new IkeSettings(cookieThreshold, cookieThresholdIp, halfOpenLimit, blockThreshold, halfOpenTimeout,
                cookieSecretLifetime, size);
    }

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
    public static final IkeSettings DEFAULT = new IkeSettings(1_000, 32, 10_000, 128, Duration.ofSeconds(30),
            Duration.ofSeconds(60));

    /** The settings' names, strongSwan's ({@code charon.*} in strongswan.conf). */
    public static final java.util.List<String> KEYS = java.util.List.of("cookie_threshold", "cookie_threshold_ip",
            "init_limit_half_open", "block_threshold", "half_open_timeout", "cookie_secret_lifetime", "fragment_size");

    /**
     * These limits with setting {@code key} (one of {@link #KEYS}) set to {@code value}: a count,
     * or a duration such as 30s.
     *
     * @throws IllegalArgumentException naming the key and what is wrong with the value
     */
    public IkeSettings with(String key, String value) {
        try {
            if (key.equals("fragment_size")) {
                return withFragmentSize(fragmentSize(value));
            }
            IkeSettings changed = switch (key) {
                case "cookie_threshold" -> new IkeSettings(count(value, 0), cookieThresholdIp, halfOpenLimit,
                        blockThreshold, halfOpenTimeout, cookieSecretLifetime);
                case "cookie_threshold_ip" -> new IkeSettings(cookieThreshold, count(value, 0), halfOpenLimit,
                        blockThreshold, halfOpenTimeout, cookieSecretLifetime);
                case "init_limit_half_open" -> new IkeSettings(cookieThreshold, cookieThresholdIp, count(value, 1),
                        blockThreshold, halfOpenTimeout, cookieSecretLifetime);
                case "block_threshold" -> new IkeSettings(cookieThreshold, cookieThresholdIp, halfOpenLimit,
                        count(value, 1), halfOpenTimeout, cookieSecretLifetime);
                case "half_open_timeout" -> new IkeSettings(cookieThreshold, cookieThresholdIp, halfOpenLimit,
                        blockThreshold, Duration.ofSeconds(dev.keel.core.config.Units.seconds(value)),
                        cookieSecretLifetime);
                case "cookie_secret_lifetime" -> new IkeSettings(cookieThreshold, cookieThresholdIp, halfOpenLimit,
                        blockThreshold, halfOpenTimeout, Duration.ofSeconds(dev.keel.core.config.Units.seconds(value)));
                default -> throw new IllegalArgumentException("unknown setting; known: " + String.join(", ", KEYS));
            };
            return changed.withFragmentSize(fragmentSize);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
        }
    }

    private static int count(String value, int min) {
        int n;
        try {
            n = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + value + "' is not a whole number");
        }
        if (n < min || n > 1_000_000) {
            throw new IllegalArgumentException(n + " is outside " + min + "..1000000");
        }
        return n;
    }

    /** A {@code fragment_size}: 0 (the address family's minimum MTU) or 576..65535. */
    private static int fragmentSize(String value) {
        int n;
        try {
            n = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + value + "' is not a whole number");
        }
        if (n != 0 && (n < MIN_FRAGMENT_SIZE || n > 65_535)) {
            throw new IllegalArgumentException(n + " is neither 0 nor in " + MIN_FRAGMENT_SIZE + "..65535");
        }
        return n;
    }

    /** Checks the ranges. */
    public IkeSettings {
        if (cookieThreshold < 0 || cookieThresholdIp < 0 || halfOpenLimit < 1 || blockThreshold < 1) {
            throw new IllegalArgumentException("half-open limits must be positive, thresholds not negative");
        }
        if (!halfOpenTimeout.isPositive() || cookieSecretLifetime.isNegative()) {
            throw new IllegalArgumentException("half_open_timeout must be positive, cookie_secret_lifetime not negative");
        }
        if (fragmentSize != 0 && (fragmentSize < MIN_FRAGMENT_SIZE || fragmentSize > 65_535)) {
            throw new IllegalArgumentException("fragment_size must be 0 or " + MIN_FRAGMENT_SIZE + "..65535: " + fragmentSize);
        }
    }
}
