package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.rpc.Promtool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docker/grafana/keel.json queries only metrics docs/operations.md documents, and every query
 * parses as PromQL ({@code promtool check rules}, Grafana's variables replaced).
 */
class GrafanaDashboardTest {

    private static final Path DASHBOARD = Path.of("..", "docker", "grafana", "keel.json");
    private static final Path OPERATIONS = Path.of("..", "docs", "operations.md");
    private static final Pattern EXPR = Pattern.compile("\"expr\":\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");
    private static final Pattern METRIC = Pattern.compile("\\b((?:keel|jvm|process|system)_[a-z0-9_]+)");

    private static List<String> expressions() throws Exception {
        List<String> out = new ArrayList<>();
        Matcher m = EXPR.matcher(Files.readString(DASHBOARD));
        while (m.find()) {
            out.add(m.group(1).replace("\\\"", "\"").replace("\\\\", "\\"));
        }
        return out;
    }

    @Test
    void everyMetricTheDashboardQueriesIsDocumented() throws Exception {
        String docs = Files.readString(OPERATIONS);
        Set<String> undocumented = new TreeSet<>();
        List<String> exprs = expressions();
        assertThat(exprs).hasSizeGreaterThan(20);
        for (String e : exprs) {
            Matcher m = METRIC.matcher(e);
            while (m.find()) {
                String name = m.group(1).replaceAll("_(bucket|count|sum)$", "");
                if (!docs.contains("`" + name + "`") && !docs.contains("`" + name + "_")) {
                    undocumented.add(name);
                }
            }
        }
        assertThat(undocumented).as("metrics in keel.json missing from docs/operations.md").isEmpty();
    }

    @Test
    void everyQueryParses() throws Exception {
        StringBuilder rules = new StringBuilder("groups:\n  - name: keel-dashboard\n    rules:\n");
        int i = 0;
        for (String e : expressions()) {
            String promql = e.replace("$__rate_interval", "5m").replace("$instance", ".*");
            rules.append("      - record: keel:dashboard:").append(i++).append("\n        expr: '")
                    .append(promql.replace("'", "''")).append("'\n");
        }
        Promtool.assertRulesValid(rules.toString());
    }
}
