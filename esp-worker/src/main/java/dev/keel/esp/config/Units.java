package dev.keel.esp.config;

import java.util.Locale;

/**
 * Durations and byte sizes as swanctl writes them.
 *
 * <pre>
 * duration = digits [ "s" | "m" | "h" | "d" ]    no suffix: seconds; e.g. 30, 10s, 30m, 1h, 2d
 * size     = digits [ "K" | "M" | "G" | "T" ]    powers of 1024, either case; e.g. 500000, 512K, 1G
 * </pre>
 *
 * No sign, no fraction, no blanks, no leading zero (so {@code 010} is not read as octal anywhere).
 */
final class Units {

    /** Largest duration accepted: about 68 years, far above any lifetime, far below overflow. */
    static final long MAX_SECONDS = Integer.MAX_VALUE;
    /** Largest size accepted: 2^62 bytes (4 EiB). */
    static final long MAX_BYTES = 1L << 62;

    private Units() {
    }

    /** Seconds in a duration. @throws IllegalArgumentException saying what is wrong */
    static long seconds(String text) {
        String t = text.toLowerCase(Locale.ROOT);
        if (t.isEmpty()) {
            throw new IllegalArgumentException("empty duration");
        }
        long unit = 1;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 's' -> unit = 1;
                case 'm' -> unit = 60;
                case 'h' -> unit = 3600;
                case 'd' -> unit = 86400;
                default -> unit = 0;
            }
        }
        String digits = unit == 0 ? t : t.substring(0, t.length() - 1);
        long n = number(text, digits, "a duration such as 30s, 10m, 1h or 2d");
        if (n > MAX_SECONDS / Math.max(unit, 1)) {
            throw new IllegalArgumentException("duration " + quote(text) + " is too long (at most "
                    + MAX_SECONDS + " seconds)");
        }
        return n * Math.max(unit, 1);
    }

    /** Bytes in a size. @throws IllegalArgumentException saying what is wrong */
    static long bytes(String text) {
        String t = text.toLowerCase(Locale.ROOT);
        if (t.isEmpty()) {
            throw new IllegalArgumentException("empty size");
        }
        int shift = -1;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'k' -> shift = 10;
                case 'm' -> shift = 20;
                case 'g' -> shift = 30;
                case 't' -> shift = 40;
                default -> shift = -1;
            }
        }
        String digits = shift < 0 ? t : t.substring(0, t.length() - 1);
        long n = number(text, digits, "a size such as 1000000, 512K, 100M or 1G");
        int s = Math.max(shift, 0);
        if (n > MAX_BYTES >> s) {
            throw new IllegalArgumentException("size " + quote(text) + " is too large (at most 2^62 bytes)");
        }
        return n << s;
    }

    private static long number(String text, String digits, String expected) {
        if (digits.isEmpty() || digits.length() > 19) {
            throw new IllegalArgumentException(quote(text) + " is not " + expected);
        }
        for (int i = 0; i < digits.length(); i++) {
            char c = digits.charAt(i);
            if (c < '0' || c > '9') {
                throw new IllegalArgumentException(quote(text) + " is not " + expected);
            }
        }
        if (digits.length() > 1 && digits.charAt(0) == '0') {
            throw new IllegalArgumentException(quote(text) + " has a leading zero");
        }
        return Long.parseLong(digits);
    }

    static String quote(String s) {
        return "'" + (s.length() > 60 ? s.substring(0, 60) + "..." : s) + "'";
    }
}
