package dev.keel.ike.engine;

import dev.keel.core.config.Units;
import dev.keel.ike.session.RetransmitPolicy;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The IKE engine's node-wide settings ({@code gateway.ike}, ike-service's {@code --ike}) under
 * strongSwan's names (strongswan.conf {@code charon.*}); the defaults suit a gateway: what the
 * responder lets half-open IKE SAs cost it (RFC 7296 §2.6), the IKE fragment size (RFC 7383)
 * and when an unanswered request is sent again or given up (RFC 7296 §2.1, §2.4: how long a dead
 * peer takes to find).
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
 * @param retransmit           {@code retransmit_timeout}, {@code retransmit_base}, {@code retransmit_tries}
 */
public record IkeSettings(int cookieThreshold, int cookieThresholdIp, int halfOpenLimit, int blockThreshold,
        Duration halfOpenTimeout, Duration cookieSecretLifetime, int fragmentSize, RetransmitPolicy retransmit) {

    /** strongSwan's {@code charon.fragment_size} default: 1280 bytes, whole IP datagram, either family. */
    public static final int DEFAULT_FRAGMENT_SIZE = 1280;
    /** The smallest {@code fragment_size}: IPv4's minimum reassembly size (RFC 791), RFC 7383 §2.5.1's conservative IPv4 size. */
    public static final int MIN_FRAGMENT_SIZE = 576;

    /**
     * The largest first IKE_SA_INIT request a responder takes. A half-open IKE SA keeps it (AUTH
     * signs it, §2.15), so this bounds what one costs; RFC 7296 §2 asks for 3,000 bytes, and even a
     * 1,568-byte ML-KEM-1024 public value leaves ample room for proposals and notifies.
     */
    public static final int MAX_INIT_REQUEST = 8_192;

    /**
     * Cookies from 1,000 half-open SAs or 32 from one address; refuse beyond 10,000 or 128 from
     * one address; 30 s to authenticate; a new cookie secret every 60 s. (strongSwan: 10 / 3 / 0 /
     * 5 / 30 s, sized for a host rather than a gateway cluster.) strongSwan's fragment size and
     * retransmissions.
     */
    public static final IkeSettings DEFAULT = new IkeSettings(1_000, 32, 10_000, 128, Duration.ofSeconds(30),
            Duration.ofSeconds(60));

    /** The settings' names, strongSwan's ({@code charon.*} in strongswan.conf). */
    public static final List<String> KEYS = List.of("cookie_threshold", "cookie_threshold_ip",
            "init_limit_half_open", "block_threshold", "half_open_timeout", "cookie_secret_lifetime", "fragment_size",
            "retransmit_timeout", "retransmit_base", "retransmit_tries");

    private static final Pattern SECONDS = Pattern.compile("(\\d{1,6}(?:\\.\\d{1,3})?)(ms|s)?");
    private static final Pattern FACTOR = Pattern.compile("\\d{1,3}(?:\\.\\d{1,6})?");

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

    /** The half-open limits with the default fragment size and retransmissions. */
    public IkeSettings(int cookieThreshold, int cookieThresholdIp, int halfOpenLimit, int blockThreshold,
            Duration halfOpenTimeout, Duration cookieSecretLifetime) {
        this(cookieThreshold, cookieThresholdIp, halfOpenLimit, blockThreshold, halfOpenTimeout, cookieSecretLifetime,
                DEFAULT_FRAGMENT_SIZE, RetransmitPolicy.DEFAULT);
    }

    /** These settings with {@code fragment_size} {@code size}. */
    public IkeSettings withFragmentSize(int size) {
        return new IkeSettings(cookieThreshold, cookieThresholdIp, halfOpenLimit, blockThreshold, halfOpenTimeout,
                cookieSecretLifetime, size, retransmit);
    }

    /** These settings with retransmissions {@code policy}. */
    public IkeSettings withRetransmit(RetransmitPolicy policy) {
        return new IkeSettings(cookieThreshold, cookieThresholdIp, halfOpenLimit, blockThreshold, halfOpenTimeout,
                cookieSecretLifetime, fragmentSize, policy);
    }

    /**
     * These settings with setting {@code key} (one of {@link #KEYS}) set to {@code value}, as
     * strongswan.conf writes it: a count, a duration such as 30s (retransmit_timeout also 1.5 or
     * 500ms), a factor such as 1.8. The one reader of these settings, for the gateway's YAML and
     * ike-service's command line alike.
     *
     * @throws IllegalArgumentException naming the key and what is wrong with the value; its cause
     *                                  says what is wrong alone
     */
    public IkeSettings with(String key, String value) {
        try {
            String v = value.strip();
            RetransmitPolicy r = retransmit;
            return switch (key) {
                case "cookie_threshold" -> new IkeSettings(count(v, 0, 1_000_000), cookieThresholdIp, halfOpenLimit,
                        blockThreshold, halfOpenTimeout, cookieSecretLifetime, fragmentSize, r);
                case "cookie_threshold_ip" -> new IkeSettings(cookieThreshold, count(v, 0, 1_000_000), halfOpenLimit,
                        blockThreshold, halfOpenTimeout, cookieSecretLifetime, fragmentSize, r);
                case "init_limit_half_open" -> new IkeSettings(cookieThreshold, cookieThresholdIp,
                        count(v, 1, 1_000_000), blockThreshold, halfOpenTimeout, cookieSecretLifetime, fragmentSize, r);
                case "block_threshold" -> new IkeSettings(cookieThreshold, cookieThresholdIp, halfOpenLimit,
                        count(v, 1, 1_000_000), halfOpenTimeout, cookieSecretLifetime, fragmentSize, r);
                case "half_open_timeout" -> new IkeSettings(cookieThreshold, cookieThresholdIp, halfOpenLimit,
                        blockThreshold, positive(Duration.ofSeconds(Units.seconds(v))), cookieSecretLifetime,
                        fragmentSize, r);
                case "cookie_secret_lifetime" -> new IkeSettings(cookieThreshold, cookieThresholdIp, halfOpenLimit,
                        blockThreshold, halfOpenTimeout, Duration.ofSeconds(Units.seconds(v)), fragmentSize, r);
                case "fragment_size" -> withFragmentSize(fragmentSize(v));
                case "retransmit_timeout" -> withRetransmit(new RetransmitPolicy(positive(seconds(v)), r.base(),
                        r.tries()));
                case "retransmit_base" -> withRetransmit(new RetransmitPolicy(r.timeout(), factor(v), r.tries()));
                case "retransmit_tries" -> withRetransmit(new RetransmitPolicy(r.timeout(), r.base(), count(v, 0, 20)));
                default -> throw new IllegalArgumentException("unknown setting; known: " + String.join(", ", KEYS));
            };
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
        }
    }

    private static int count(String value, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + value + "' is not a whole number");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(n + " is out of range " + min + "-" + max);
        }
        return n;
    }

    private static Duration positive(Duration d) {
        if (!d.isPositive()) {
            throw new IllegalArgumentException("must be longer than 0s");
        }
        return d;
    }

    /** strongSwan's seconds with a fraction ({@code 4.0}), or with {@code s} or {@code ms}, or a duration such as {@code 1m}. */
    private static Duration seconds(String value) {
        Matcher m = SECONDS.matcher(value);
        if (!m.matches()) {
            return Duration.ofSeconds(Units.seconds(value));
        }
        double n = Double.parseDouble(m.group(1));
        return Duration.ofMillis(Math.round("ms".equals(m.group(2)) ? n : n * 1000));
    }

    private static double factor(String value) {
        if (!FACTOR.matcher(value).matches() || Double.parseDouble(value) < 1) {
            throw new IllegalArgumentException("'" + value + "' is not a factor of at least 1, such as 1.8");
        }
        return Double.parseDouble(value);
    }

    /** A {@code fragment_size}: 0 (the address family's minimum MTU) or 576..65535. */
    private static int fragmentSize(String value) {
        int n = count(value, 0, 65_535);
        if (n != 0 && n < MIN_FRAGMENT_SIZE) {
            throw new IllegalArgumentException(n + " is below " + MIN_FRAGMENT_SIZE
                    + " (IPv4's minimum datagram); 0 picks the family's minimum");
        }
        return n;
    }
}
