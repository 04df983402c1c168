package dev.keel.core.net;

/** Messages for parse errors in core and configuration: input is hostile, so it is quoted, escaped and truncated. */
public final class ParseErrors {
    /** Longest input echoed back in an error message; the rest is elided. */
    public static final int MAX_QUOTED = 64;

    private ParseErrors() {
    }

    /** {@code text} in double quotes, control and non-ASCII characters escaped, long input cut. */
    public static String quote(String text) {
        StringBuilder sb = new StringBuilder(Math.min(text.length(), MAX_QUOTED) + 8).append('"');
        int n = Math.min(text.length(), MAX_QUOTED);
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c >= 0x20 && c < 0x7f) {
                sb.append(c);
            } else {
                sb.append(String.format("\\u%04x", (int) c));
            }
        }
        if (text.length() > MAX_QUOTED) {
            sb.append("...");
        }
        return sb.append('"').toString();
    }

    /** A printable rendering of one character for "unexpected character" messages. */
    public static String quoteChar(char c) {
        return c >= 0x20 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
    }

    /** An IllegalArgumentException saying {@code whole} is not a valid {@code what}, and why. */
    public static IllegalArgumentException invalid(String what, String whole, String reason) {
        return new IllegalArgumentException("invalid " + what + " " + quote(whole) + ": " + reason);
    }
}
