package dev.keel.policy.config;

import dev.keel.core.spd.Spd;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A validated, immutable configuration: connections, explicit policies, resolved secrets and
 * the SPD compiled from them. {@link #toString()} shows no secret material.
 *
 * @param source      the file (or inline name) it was loaded from
 * @param connections connections by name, in file order
 * @param policies    explicit policies, in file order
 * @param secrets     resolved secrets by name
 * @param compiled    the SPD entries in order, with their priorities and sources
 * @param spd         the lookup structure over the same entries
 */
public record PolicyConfig(String source, Map<String, ConnectionConfig> connections, List<ExplicitPolicy> policies,
        Map<String, Secret> secrets, List<CompiledPolicy> compiled, Spd spd) {

    /** Copies the collections, keeping order. */
    public PolicyConfig {
        connections = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(connections));
        policies = List.copyOf(policies);
        secrets = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(secrets));
        compiled = List.copyOf(compiled);
    }

    /** The configuration with nothing in it: what a service runs before its first load. */
    public static PolicyConfig empty() {
        return new PolicyConfig("<empty>", Map.of(), List.of(), Map.of(), List.of(), Spd.empty());
    }

    /** A connection by name. */
    public Optional<ConnectionConfig> connection(String name) {
        return Optional.ofNullable(connections.get(name));
    }

    /** The connections in file order. */
    public List<ConnectionConfig> connectionList() {
        return new ArrayList<>(connections.values());
    }

    /** Counts only: a configuration's secrets, selectors and proposals stay out of logs. */
    @Override
    public String toString() {
        return "PolicyConfig[" + source + ": " + connections.size() + " connections, " + policies.size()
                + " explicit policies, " + secrets.size() + " secrets, " + compiled.size() + " SPD entries]";
    }
}
