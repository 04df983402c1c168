package dev.keel.ike.session;

/**
 * What the engine tells the rest of the node: CHILD SAs to install in and remove from the data
 * plane (and the SAD), IKE SAs coming and going. Called on the IKE SA's thread; implementations
 * must not block it.
 */
public interface IkeEvents {

    /** An IKE SA authenticated both ways. */
    default void ikeEstablished(IkeSa sa) {
    }

    /** An IKE SA is gone: deleted, failed, or timed out; {@code reason} says which. */
    default void ikeDestroyed(IkeSa sa, String reason) {
    }

    /** A CHILD SA pair was negotiated: install both directions. */
    default void childEstablished(IkeSa sa, ChildSa child) {
    }

    /** A CHILD SA pair was deleted: remove both directions and zeroize its keys. */
    default void childDeleted(IkeSa sa, ChildSa child) {
    }

    /** An exchange failed with a reason an operator should see (e.g. "peer sent AUTHENTICATION_FAILED"). */
    default void failed(IkeSa sa, String reason) {
    }

    /** Ignores everything. */
    IkeEvents NONE = new IkeEvents() {
    };
}
