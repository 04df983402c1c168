package dev.keel.policy.config;

import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.spd.SpdAction;
import dev.keel.core.ts.TrafficSelector;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

/** Reads {@code policies}: explicit bypass and drop policies, each an SPD source. */
final class PoliciesReader {

    private static final Set<String> POLICY_KEYS = Set.of("name", "local_ts", "remote_ts", "action", "priority");

    private final Nodes nodes;
    private final Problems problems;
    private final SelectorReader selectors;
    private final List<SpdCompiler.Source> sources;

    /** Each policy's SPD source is added to {@code sources}. */
    PoliciesReader(Nodes nodes, SelectorReader selectors, List<SpdCompiler.Source> sources) {
        this.nodes = nodes;
        this.problems = nodes.problems();
        this.selectors = selectors;
        this.sources = sources;
    }

    /** The {@code policies} list: every policy read without a problem, in file order. */
    List<ExplicitPolicy> read(Node node) {
        List<ExplicitPolicy> out = new ArrayList<>();
        if (!(node instanceof SequenceNode seq)) {
            problems.add("policies", node, "expected a list of policies, found " + Nodes.kind(node));
            return out;
        }
        Set<String> names = new HashSet<>();
        int i = 0;
        for (Node p : seq.getValue()) {
            String path = "policies[" + i++ + "]";
            Map<String, Node> m = nodes.mapping(p, path, POLICY_KEYS);
            if (m == null) {
                continue;
            }
            int before = problems.size();
            String name = null;
            if (!m.containsKey("name")) {
                problems.add(path, p, "missing key 'name'");
            } else {
                name = nodes.string(m.get("name"), path + ".name");
                if (name != null && !ConfigReading.NAME.matcher(name).matches()) {
                    problems.add(path + ".name", m.get("name"), ConfigReading.nameRule("policy", name));
                } else if (name != null && !names.add(name)) {
                    problems.add(path + ".name", m.get("name"), "another policy is already named '" + name + "'");
                }
            }
            List<TrafficSelector> local = selectors.selectors(m.get("local_ts"), path + ".local_ts", path, p, null, null,
                    true);
            List<TrafficSelector> remote = selectors.selectors(m.get("remote_ts"), path + ".remote_ts", path, p, null,
                    null, true);
            SpdAction action = null;
            if (!m.containsKey("action")) {
                problems.add(path, p, "missing key 'action' (bypass or drop)");
            } else {
                String a = nodes.choice(m.get("action"), path + ".action", List.of("bypass", "drop"));
                action = a == null ? null : a.equals("bypass") ? SpdAction.BYPASS : SpdAction.DISCARD;
            }
            Integer priority = selectors.priority(m.get("priority"), path + ".priority");
            if (problems.size() == before) {
                out.add(new ExplicitPolicy(name, local, remote, action, priority));
                sources.add(new SpdCompiler.Source(path, p.getStartMark(), priority, action, null, null, name,
                        local, remote));
            }
        }
        return out;
    }
}
