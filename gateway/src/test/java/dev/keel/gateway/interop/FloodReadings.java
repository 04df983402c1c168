package dev.keel.gateway.interop;

import dev.keel.esp.wire.BoundedCommand;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the flood tests read of a gateway in its namespace and of a flood generator's output. */
final class FloodReadings {

    private FloodReadings() {
    }

    /**
     * The metrics endpoint at {@code listen}, scraped from inside {@code site}'s gateway namespace:
     * the series (with labels) whose names start with one of {@code prefixes}, to their values.
     */
    static Map<String, Double> metrics(NetnsTopology topo, NetnsTopology.Site site, String listen, String... prefixes)
            throws IOException {
        BoundedCommand.Result r = topo.exec(site.gatewayNamespace(), Duration.ofSeconds(20), "python3", "-c",
                "import urllib.request,sys;sys.stdout.write(urllib.request.urlopen('http://" + listen
                        + "/metrics',timeout=15).read().decode())").requireOk();
        Map<String, Double> m = new TreeMap<>();
        for (String line : r.output().split("\n")) {
            for (String prefix : prefixes) {
                if (line.startsWith(prefix)) {
                    int space = line.lastIndexOf(' ');
                    m.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
                    break;
                }
            }
        }
        return m;
    }

    /**
     * The kernel's UDP counters in {@code site}'s gateway namespace ({@code /proc/net/snmp}):
     * InDatagrams, and the datagrams dropped for a full socket buffer (RcvbufErrors, InErrors).
     */
    static Map<String, Long> udp(NetnsTopology topo, NetnsTopology.Site site) throws IOException {
        List<String> lines = topo.exec(site.gatewayNamespace(), Duration.ofSeconds(10), "cat", "/proc/net/snmp")
                .requireOk().output().lines().filter(l -> l.startsWith("Udp:")).toList();
        Map<String, Long> m = new TreeMap<>();
        if (lines.size() >= 2) {
            String[] names = lines.get(0).split("\\s+");
            String[] values = lines.get(1).split("\\s+");
            for (int i = 1; i < Math.min(names.length, values.length); i++) {
                if (List.of("InDatagrams", "RcvbufErrors", "InErrors").contains(names[i])) {
                    m.put(names[i], Long.parseLong(values[i]));
                }
            }
        }
        return m;
    }

    /** The number {@code name} in a generator's one-line JSON report. */
    static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\": ([0-9.]+)").matcher(json);
        if (!m.find()) {
            throw new AssertionError("no '" + name + "' in the flood's output: " + json);
        }
        return m.group(1);
    }

    static long number(String json, String name) {
        return Long.parseLong(field(json, name));
    }

    /** The last 60 lines of a log, for a failure's message. */
    static String tail(String log) {
        List<String> lines = log.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }
}
