package dev.keel.gateway.interop;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Daemon-level settings of a {@link StrongSwanPeer}: filelog levels per subsystem (charon's
 * {@code ike}, {@code chd}, {@code cfg}, {@code enc}, {@code net}, {@code knl}, ..., -1..4),
 * extra lines for strongswan.conf's {@code charon} section, for swanctl.conf's connection and its
 * child, and how long to wait for the vici socket after starting.
 */
public record CharonOptions(Map<String, Integer> logLevels, List<String> extraCharonLines,
        List<String> extraConnectionLines, List<String> extraChildLines, Duration startTimeout) {

    public CharonOptions {
        logLevels = Map.copyOf(logLevels);
        extraCharonLines = List.copyOf(extraCharonLines);
        extraConnectionLines = List.copyOf(extraConnectionLines);
        extraChildLines = List.copyOf(extraChildLines);
    }

    /** default=1, ike/cfg/chd=2 (enough for "MAC mismatched" and proposal lines), start timeout 10 s. */
    public static CharonOptions defaults() {
        return new CharonOptions(Map.of("default", 1, "ike", 2, "cfg", 2, "chd", 2), List.of(), List.of(), List.of(),
                Duration.ofSeconds(10));
    }

    /** These options with {@code subsystem} logged at {@code level}. */
    public CharonOptions withLogLevel(String subsystem, int level) {
        Map<String, Integer> m = new LinkedHashMap<>(logLevels);
        m.put(subsystem, level);
        return new CharonOptions(m, extraCharonLines, extraConnectionLines, extraChildLines, startTimeout);
    }

    /** These options plus one more line for the {@code charon { }} section of strongswan.conf. */
    public CharonOptions withCharonLine(String line) {
        return new CharonOptions(logLevels, plus(extraCharonLines, line), extraConnectionLines, extraChildLines,
                startTimeout);
    }

    /** These options plus one more line for swanctl.conf's connection section, e.g. {@code rekey_time = 8s}. */
    public CharonOptions withConnectionLine(String line) {
        return new CharonOptions(logLevels, extraCharonLines, plus(extraConnectionLines, line), extraChildLines,
                startTimeout);
    }

    /** These options plus one more line for swanctl.conf's child section, e.g. {@code dpd_action = restart}. */
    public CharonOptions withChildLine(String line) {
        return new CharonOptions(logLevels, extraCharonLines, extraConnectionLines, plus(extraChildLines, line),
                startTimeout);
    }

    /** These options with another wait for the vici socket after starting (a loaded machine, many connections). */
    public CharonOptions withStartTimeout(Duration timeout) {
        return new CharonOptions(logLevels, extraCharonLines, extraConnectionLines, extraChildLines, timeout);
    }

    private static List<String> plus(List<String> lines, String line) {
        List<String> l = new java.util.ArrayList<>(lines);
        l.add(line);
        return l;
    }
}
