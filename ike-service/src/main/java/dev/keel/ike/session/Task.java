package dev.keel.ike.session;

import dev.keel.ike.message.IkeMessage;

/**
 * One RFC feature's part in an exchange (strongSwan's task pattern): an initiator task builds
 * its payloads into the request and processes the response; a responder task processes the
 * request and builds its payloads into the response. Several tasks share one exchange (IKE_SA_INIT
 * is {@link IkeInitTask} + {@link NatDetectTask}). A task never sees message IDs, retransmissions
 * or encryption: the {@link TaskManager} owns those.
 */
public interface Task {

    /** What a step of a task came to. */
    enum Status {
        /** This task is finished. */
        DONE,
        /** Run this task again in another exchange of the same type (e.g. a retry with a cookie). */
        NEED_MORE,
        /** The exchange failed: the IKE SA is torn down once the response (if any) is sent. */
        FAILED
    }

    /** Adds this task's payloads to an outbound request (initiator) or response (responder). */
    Status build(OutboundMessage message);

    /** Reads this task's payloads from an inbound response (initiator) or request (responder). */
    Status process(IkeMessage message);

    /**
     * Whether a response with the right message ID and exchange type answers this task's request;
     * false drops it as stale and keeps waiting (RFC 6311: a sync response must echo our nonce).
     */
    default boolean expects(IkeMessage response) {
        return true;
    }

    /**
     * This task, not yet started, redone on {@code next}, the IKE SA that replaced its own in a
     * rekey (RFC 7296 §2.8: the CHILD SAs are {@code next}'s now, and the peer knows them only
     * there); null when it stays on its IKE SA.
     */
    default Task movedTo(IkeSa next) {
        return null;
    }
}
