package dev.keel.policy.config;

import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.spd.Spd;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.Node;

/**
 * One load of a configuration: reads each section with its reader ({@link SecretsReader},
 * {@link ConnectionsReader}, {@link PoliciesReader}), compiles the SPD and builds the result.
 */
final class ConfigReading {

    /**
     * Sections policy-service reads, and those of a node's file that other services read
     * ({@code cluster}, {@code listen}, {@code metrics}, {@code logging}, {@code gateway}) and it leaves alone.
     */
    private static final Set<String> TOP_KEYS = Set.of("connections", "policies", "secrets", "cluster", "listen",
            "metrics", "logging", "gateway");

    /** Names of secrets, connections, children and policies. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    private final Nodes nodes;
    private final ConfigFiles files;
    private final Function<String, String> environment;

    ConfigReading(Problems problems, ConfigFiles files, Function<String, String> environment) {
        this.nodes = new Nodes(problems);
        this.files = files;
        this.environment = environment;
    }

    ConfigResult read(Node root) {
        Problems problems = nodes.problems();
        Map<String, Node> top = nodes.mapping(root, "", TOP_KEYS);
        if (top == null) {
            return new ConfigResult.Invalid(problems.list());
        }
        SecretsReader secrets = new SecretsReader(nodes, files, environment);
        if (top.containsKey("secrets")) {
            secrets.read(top.get("secrets"));
        }
        List<SpdCompiler.Source> sources = new ArrayList<>();
        SelectorReader selectors = new SelectorReader(nodes);
        Map<String, ConnectionConfig> connections = top.containsKey("connections")
                ? new ConnectionsReader(nodes, new AuthReader(nodes, files, secrets), selectors, sources)
                        .read(top.get("connections"))
                : new LinkedHashMap<>();
        List<ExplicitPolicy> policies = top.containsKey("policies")
                ? new PoliciesReader(nodes, selectors, sources).read(top.get("policies")) : List.of();
        if (!top.containsKey("connections") && !top.containsKey("policies")) {
            problems.add("", root, "neither 'connections' nor 'policies' is present; a configuration"
                    + " without connections is written 'connections: {}'");
        }
        List<CompiledPolicy> compiled = SpdCompiler.compile(sources, problems);
        if (!problems.isEmpty()) {
            secrets.clear();
            return new ConfigResult.Invalid(problems.list());
        }
        Spd spd = Spd.of(compiled.stream().map(CompiledPolicy::entry).toList());
        return new ConfigResult.Valid(new PolicyConfig(problems.file(), connections, policies, secrets.resolved(),
                compiled, spd));
    }

    /** The problem with a name that is not {@link #NAME}. */
    static String nameRule(String what, String name) {
        return what + " name '" + (name.length() > 64 ? name.substring(0, 64) + "..." : name)
                + "' may only hold letters, digits, '-' and '_', at most 64 of them";
    }
}
