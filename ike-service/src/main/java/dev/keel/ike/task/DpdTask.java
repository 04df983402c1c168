package dev.keel.ike.task;

import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.ike.message.IkeMessage;

/**
 * Dead peer detection's probe (RFC 7296 §1.4, §2.4): an empty INFORMATIONAL request. Any valid
 * response proves the peer alive; none ends the IKE SA through the task manager's
 * retransmission limit, never through an unprotected message.
 */
public final class DpdTask implements Task {

    @Override
    public Status build(OutboundMessage m) {
        return Status.DONE;
    }

    @Override
    public Status process(IkeMessage m) {
        return Status.DONE;
    }
}
