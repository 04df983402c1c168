package dev.keel.core.ts;

/** Message helpers for selector parse errors: input is hostile, so it is quoted, escaped and cut. */
final class Texts {
    /** Longest input echoed back in an error message; the rest is elided. */
    static final int MAX_QUOTED = 64;

    private Texts() {
    }

    /** {@code text} in double quotes, control and non-ASCII characters escaped, long input cut. */
    static String quote(String text) {
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
}
