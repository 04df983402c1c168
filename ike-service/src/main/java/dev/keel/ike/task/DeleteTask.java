package dev.keel.ike.task;

import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.ike.message.DeletePayload;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import java.util.List;

/**
 * The initiator's side of a Delete in INFORMATIONAL (RFC 7296 §1.4): deleting the IKE SA (which
 * takes its CHILD SAs along) or one CHILD SA pair. The empty INFORMATIONAL of dead peer
 * detection is {@link DpdTask}.
 */
public final class DeleteTask implements Task {

    private final IkeSa sa;
    private final ChildSa child;
    private final boolean ike;

    private DeleteTask(IkeSa sa, ChildSa child, boolean ike) {
        this.sa = sa;
        this.child = child;
        this.ike = ike;
    }

    /** Deletes the whole IKE SA. */
    public static DeleteTask ikeSa(IkeSa sa) {
        return new DeleteTask(sa, null, true);
    }

    /** Deletes one CHILD SA pair. */
    public static DeleteTask childSa(IkeSa sa, ChildSa child) {
        return new DeleteTask(sa, child, false);
    }

    @Override
    public Status build(OutboundMessage m) {
        if (ike) {
            sa.deleting();
            m.add(DeletePayload.ikeSa());
        } else {
            m.add(DeletePayload.esp(List.of(child.inboundSpi())));
        }
        return Status.DONE;
    }

    @Override
    public Status process(IkeMessage m) {
        if (ike) {
            sa.destroy("deleted by us");
        } else {
            sa.removeChild(child);
        }
        return Status.DONE;
    }
}
