package dev.keel.policy.config;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.ChildLifetime;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelector;
import java.util.List;

/**
 * One CHILD_SA configuration, with defaults applied and {@code dynamic} selectors resolved.
 *
 * @param name         unique within its connection
 * @param localTs      our side's selectors, in order
 * @param remoteTs     the peer's side's selectors, in order
 * @param espProposals ESP proposals, in order of preference; or AH ones (all of them AH) for a child
 *                     configured with {@code ah_proposals}
 * @param mode         tunnel or transport
 * @param lifetime     when to rekey and when the SA ends, by time, bytes and packets
 * @param startAction  what to do on load
 * @param dpdAction    what to do when the peer is dead
 * @param closeAction  what to do when the peer closes it
 * @param replayWindow inbound anti-replay window in packets; 0 turns replay protection off
 * @param priority     SPD priority of this child's entries, lower first
 */
public record ChildConfig(String name, List<TrafficSelector> localTs, List<TrafficSelector> remoteTs,
        List<Proposal> espProposals, IpsecMode mode, ChildLifetime lifetime, StartAction startAction,
        DpdAction dpdAction, CloseAction closeAction, int replayWindow, int priority) {

    /** Copies the lists. */
    public ChildConfig {
        localTs = List.copyOf(localTs);
        remoteTs = List.copyOf(remoteTs);
        espProposals = List.copyOf(espProposals);
    }

    /** ESP, or AH when the child was configured with {@code ah_proposals}. */
    public Protocol protocol() {
        return espProposals.isEmpty() ? Protocol.ESP : espProposals.getFirst().protocol();
    }
}
