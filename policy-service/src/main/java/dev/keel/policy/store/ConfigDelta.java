package dev.keel.policy.store;

import dev.keel.policy.config.CompiledPolicy;
import dev.keel.policy.config.ConnectionConfig;
import java.util.List;

/**
 * The change from revision {@code revision - 1} to {@code revision}.
 *
 * @param revision            the revision this delta brings a subscriber to
 * @param upsertedConnections connections added or changed, whole
 * @param removedConnections  names of connections removed
 * @param spdChanged          whether the SPD changed; if so {@code spd} is the whole new SPD (order
 *                            is global, so a partial SPD would not say where entries go)
 * @param spd                 the new SPD when changed, else empty
 */
public record ConfigDelta(long revision, List<ConnectionConfig> upsertedConnections, List<String> removedConnections,
        boolean spdChanged, List<CompiledPolicy> spd) {

    /** Copies the lists. */
    public ConfigDelta {
        upsertedConnections = List.copyOf(upsertedConnections);
        removedConnections = List.copyOf(removedConnections);
        spd = List.copyOf(spd);
    }
}
