package dev.keel.ike.session;

/** Where an IKE SA is in its life (RFC 7296 §1.2–1.4). */
public enum IkeSaState {
    /** IKE_SA_INIT or IKE_AUTH still in progress. */
    CONNECTING,
    /** Authenticated: CHILD SAs, liveness checks and deletes may run. */
    ESTABLISHED,
    /** A delete of this IKE SA is in progress. */
    DELETING,
    /** Gone: keys zeroized, removed from the engine. */
    DESTROYED
}
