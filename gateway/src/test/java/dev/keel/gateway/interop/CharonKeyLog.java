package dev.keel.gateway.interop;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The key dumps in a charon filelog written with {@code ike = 4} and {@code chd = 4} (strongSwan
 * 5.9): a line {@code <label> => <n> bytes @ 0x...} followed by hex dump lines. Lets tshark
 * decrypt a Keel peer's traffic with keys strongSwan derived, not keys Keel wrote down (the
 * reading of bench/ike/keychain-from-log.py).
 */
final class CharonKeyLog {

    private static final Pattern LINE = Pattern.compile("^\\S+ \\d+\\[\\w+\\] (?:<[^>]*> )?(.*)$");
    private static final Pattern HEAD = Pattern.compile("^(.*) => (\\d+) bytes @ 0x[0-9a-f]+$");
    private static final Pattern DUMP = Pattern.compile("^\\s+\\d+: ((?:[0-9A-F]{2} )*[0-9A-F]{2})");

    private CharonKeyLog() {}

    /** Every dump in {@code log}, by label ("Sk_ei secret", "encryption initiator key", ...), in log order. */
    static Map<String, List<byte[]>> dumps(String log) {
        Map<String, List<byte[]>> out = new LinkedHashMap<>();
        String label = null;
        int want = 0;
        byte[] buf = new byte[0];
        for (String raw : log.lines().toList()) {
            Matcher m = LINE.matcher(raw);
            if (!m.matches()) {
                continue;
            }
            String text = m.group(1);
            if (label != null) {
                Matcher d = DUMP.matcher(text);
                if (d.find()) {
                    byte[] more = HexFormat.of().parseHex(d.group(1).replace(" ", "").toLowerCase());
                    byte[] joined = new byte[buf.length + more.length];
                    System.arraycopy(buf, 0, joined, 0, buf.length);
                    System.arraycopy(more, 0, joined, buf.length, more.length);
                    buf = joined;
                    if (buf.length >= want) {
                        out.computeIfAbsent(label, k -> new ArrayList<>()).add(java.util.Arrays.copyOf(buf, want));
                        label = null;
                    }
                    continue;
                }
                label = null;
            }
            Matcher h = HEAD.matcher(text);
            if (h.matches()) {
                label = h.group(1);
                want = Integer.parseInt(h.group(2));
                buf = new byte[0];
                if (want == 0) {
                    out.computeIfAbsent(label, k -> new ArrayList<>()).add(buf);
                    label = null;
                }
            }
        }
        return out;
    }

    /** The first dump labelled {@code label}; fails naming it when the log has none. */
    static byte[] first(Map<String, List<byte[]>> dumps, String label) {
        List<byte[]> v = dumps.get(label);
        if (v == null || v.isEmpty()) {
            throw new AssertionError("no '" + label + "' key dump in charon's log (filelog ike = 4, chd = 4?); labels: "
                    + dumps.keySet());
        }
        return v.getFirst();
    }
}
