package dev.keel.policy.config;

import static dev.keel.policy.config.ConfigLoader.DEFAULT_PRIORITY;

import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.net.IpAddress;
import dev.keel.core.ts.TrafficSelector;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.yaml.snakeyaml.nodes.Node;

/** Reads what children and explicit policies share: traffic selector lists and SPD priorities. */
final class SelectorReader {

    private final Nodes nodes;
    private final Problems problems;

    SelectorReader(Nodes nodes) {
        this.nodes = nodes;
        this.problems = nodes.problems();
    }

    /** An SPD priority, 1-65535, or the default when absent; null after a problem. */
    Integer priority(Node node, String path) {
        if (node == null) {
            return DEFAULT_PRIORITY;
        }
        Long p = nodes.integer(node, path, 1, 65535);
        return p == null ? null : p.intValue();
    }

    /**
     * Selectors of a child ({@code dynamic}, the default, resolved to the side's single
     * address) or of a policy ({@code dynamicAddress} null and {@code addressKey} null: required,
     * no {@code dynamic}).
     */
    List<TrafficSelector> selectors(Node node, String path, String ownerPath, Node owner,
            IpAddress dynamicAddress, String addressKey, boolean addressesOk) {
        List<Nodes.Item> items;
        if (node == null) {
            if (addressKey == null) {
                problems.add(ownerPath, owner, "missing key '" + path.substring(path.lastIndexOf('.') + 1) + "'");
                return null;
            }
            items = List.of(new Nodes.Item("dynamic", path, owner));
        } else {
            items = nodes.list(node, path);
            if (items == null) {
                return null;
            }
        }
        List<TrafficSelector> out = new ArrayList<>();
        boolean ok = true;
        for (Nodes.Item item : items) {
            String t = item.text();
            boolean dynamic = t.toLowerCase(Locale.ROOT).startsWith("dynamic");
            if (dynamic && dynamicAddress == null) {
                ok = false;
                if (addressKey == null) {
                    problems.add(item.path(), item.node(), "'dynamic' has no meaning in an explicit policy;"
                            + " give addresses");
                } else if (addressesOk) {
                    problems.add(item.path(), item.node(), "'dynamic' stands for our single address, but "
                            + addressKey + " is not one address; list the selectors explicitly"
                            + (node == null ? " (dynamic is the default)" : ""));
                }
                continue;
            }
            try {
                out.add(TrafficSelector.parse(t, dynamicAddress));
            } catch (IllegalArgumentException e) {
                ok = false;
                problems.add(item.path(), item.node(), e.getMessage());
            }
        }
        return ok ? out : null;
    }
}
