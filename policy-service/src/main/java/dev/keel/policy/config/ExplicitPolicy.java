package dev.keel.policy.config;

import dev.keel.core.spd.SpdAction;
import dev.keel.core.ts.TrafficSelector;
import java.util.List;

/**
 * An explicit BYPASS or DISCARD policy from {@code policies:}.
 *
 * @param name     unique among policies
 * @param localTs  our side's selectors
 * @param remoteTs the peer's side's selectors
 * @param action   BYPASS or DISCARD
 * @param priority SPD priority, lower first
 */
public record ExplicitPolicy(String name, List<TrafficSelector> localTs, List<TrafficSelector> remoteTs,
        SpdAction action, int priority) {

    /** Copies the lists. */
    public ExplicitPolicy {
        localTs = List.copyOf(localTs);
        remoteTs = List.copyOf(remoteTs);
    }
}
