package dev.keel.ike.config;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.sa.ChildLifetime;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.sa.ReplayWindowSize;
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
 * @param lifetime     when to rekey and when the SA ends, by time, bytes and packets
 * @param startAction  what loading the configuration does
 * @param dpdAction    what follows when DPD (or any unanswered request) finds the peer dead
 *                     (swanctl's {@code dpd_action}: clear, trap, restart)
 * @param closeAction  what follows when the peer closes it (swanctl's {@code close_action})
 * @param replayWindow inbound anti-replay window in packets; 0 turns replay protection off
 */
public record ChildConnection(String name, List<TrafficSelector> localTs, List<TrafficSelector> remoteTs,
        List<Proposal> espProposals, IpsecMode mode, ChildLifetime lifetime, StartAction startAction,
        AfterClose dpdAction, AfterClose closeAction, int replayWindow) {

    /** Copies the lists. */
    public ChildConnection {
        localTs = List.copyOf(localTs);
        remoteTs = List.copyOf(remoteTs);
        espProposals = List.copyOf(espProposals);
        if (!ReplayWindowSize.allowed(replayWindow)) {
            throw new IllegalArgumentException("replay window " + replayWindow + " is neither 0 nor "
                    + ReplayWindowSize.MIN + ".." + ReplayWindowSize.MAX);
        }
    }

    /** Time limits only ({@link ChildLifetime#ofTime}), no action after a close, Keel's default replay window. */
    public ChildConnection(String name, List<TrafficSelector> localTs, List<TrafficSelector> remoteTs,
            List<Proposal> espProposals, IpsecMode mode, Duration rekeyTime, Duration lifeTime, StartAction startAction) {
        this(name, localTs, remoteTs, espProposals, mode, ChildLifetime.ofTime(rekeyTime, lifeTime), startAction,
                AfterClose.NONE, AfterClose.NONE, ReplayWindowSize.DEFAULT);
    }

    /** When to rekey by time, zero for never. */
    public Duration rekeyTime() {
        return lifetime.rekeyTime();
    }

    /** The hard lifetime, zero for never. */
    public Duration lifeTime() {
        return lifetime.lifeTime();
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

    /**
     * What follows when a CHILD SA ends without us asking: swanctl's {@code dpd_action} (clear,
     * trap, restart) and {@code close_action} (none, trap, start).
     */
    public enum AfterClose {
        /** Nothing more (dpd_action clear, close_action none). */
        NONE,
        /** Arm the child's trap: the next packet its policy matches initiates it again. */
        TRAP,
        /** Initiate it again at once (dpd_action restart, close_action start). */
        START
    }
}
