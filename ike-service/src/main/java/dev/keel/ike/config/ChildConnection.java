package dev.keel.ike.config;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelector;
import java.time.Duration;
import java.util.List;

/**
 * What the IKE engine needs of one CHILD_SA configuration.
 *
 * @param name         unique within its connection
 * @param localTs      our side's selectors, in order
 * @param remoteTs     the peer's side's selectors, in order
 * @param espProposals ESP proposals in order of preference (key exchange transforms only matter
 *                     for CREATE_CHILD_SA with PFS)
 * @param mode         tunnel or transport
 * @param rekeyTime    when to rekey, zero for never
 * @param lifeTime     hard lifetime
 * @param startAction  what loading the configuration does
 */
public record ChildConnection(String name, List<TrafficSelector> localTs, List<TrafficSelector> remoteTs,
        List<Proposal> espProposals, IpsecMode mode, Duration rekeyTime, Duration lifeTime, StartAction startAction) {

    /** Copies the lists. */
    public ChildConnection {
        localTs = List.copyOf(localTs);
        remoteTs = List.copyOf(remoteTs);
        espProposals = List.copyOf(espProposals);
    }

    /** What loading a connection does with this child (swanctl's {@code start_action}). */
    public enum StartAction {
        /** Nothing: the peer initiates, or an operator does. */
        NONE,
        /** Initiate at start-up. */
        START,
        /** Install a trap policy; matching traffic starts an initiation (an acquire). */
        TRAP
    }
}
