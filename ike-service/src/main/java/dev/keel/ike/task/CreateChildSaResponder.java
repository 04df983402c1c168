package dev.keel.ike.task;

import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.core.proposal.Protocol;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.message.SaPayload;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;

/**
 * The responder's side of CREATE_CHILD_SA (RFC 7296 §1.3): an SA payload proposing protocol IKE
 * rekeys the IKE SA ({@link IkeRekeyTask}); anything else makes a CHILD SA, new or, with
 * N(REKEY_SA), replacing one ({@link CreateChildSaTask}). An IKE SA being deleted or replaced
 * answers TEMPORARY_FAILURE (§2.25).
 */
public final class CreateChildSaResponder implements Task {

    private final IkeSa sa;
    private Task delegate;

    /** The responder's task for {@code sa}. */
    public CreateChildSaResponder(IkeSa sa) {
        this.sa = sa;
    }

    @Override
    public Status process(IkeMessage m) {
        if (sa.state() != IkeSaState.ESTABLISHED || sa.successor() != null) {
            delegate = new RefuseTask(sa.state() == IkeSaState.CONNECTING
                    ? NotifyType.INVALID_SYNTAX : NotifyType.TEMPORARY_FAILURE);
        } else {
            boolean ike = m.first(SaPayload.class).map(p -> !p.proposals().isEmpty()
                    && p.proposals().getFirst().protocolId() == Protocol.IKE.id()).orElse(false);
            delegate = ike ? IkeRekeyTask.responder(sa) : CreateChildSaTask.responder(sa);
        }
        return delegate.process(m);
    }

    @Override
    public Status build(OutboundMessage m) {
        return delegate.build(m);
    }
}
