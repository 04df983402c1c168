package dev.keel.policy.config;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelector;
import java.time.Duration;
import java.util.List;

/**
 * One CHILD_SA configuration, with defaults applied and {@code dynamic} selectors resolved.
 *
 * @param name         unique within its connection
 * @param localTs      our side's selectors, in order
 * @param remoteTs     the peer's side's selectors, in order
 * @param espProposals ESP proposals, in order of preference
 * @param mode         tunnel or transport
 * @param rekeyTime    when to rekey; zero for never
 * @param lifeTime     hard lifetime
 * @param rekeyBytes   bytes before a rekey; 0 for no limit
 * @param startAction  what to do on load
 * @param dpdAction    what to do when the peer is dead
 * @param priority     SPD priority of this child's entries, lower first
 */
public record ChildConfig(String name, List<TrafficSelector> localTs, List<TrafficSelector> remoteTs,
        List<Proposal> espProposals, IpsecMode mode, Duration rekeyTime, Duration lifeTime, long rekeyBytes,
        StartAction startAction, DpdAction dpdAction, int priority) {

    /** Copies the lists. */
    public ChildConfig {
        localTs = List.copyOf(localTs);
        remoteTs = List.copyOf(remoteTs);
        espProposals = List.copyOf(espProposals);
    }
}
