package dev.keel.ike.task;

import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyType;

/** Answers a request this IKE SA does not take (e.g. CREATE_CHILD_SA before it is supported) with one error notify. */
public final class RefuseTask implements Task {

    private final NotifyType error;

    /** Refuses with {@code error}. */
    public RefuseTask(NotifyType error) {
        this.error = error;
    }

    @Override
    public Status process(IkeMessage message) {
        return Status.DONE;
    }

    @Override
    public Status build(OutboundMessage message) {
        message.onlyError(error, new byte[0]);
        return Status.DONE;
    }
}
