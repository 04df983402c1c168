package dev.keel.ike.task;

import dev.keel.core.proposal.Protocol;
import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.ike.message.DeletePayload;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.message.ExchangeType;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The initiator's side of a Delete in INFORMATIONAL (RFC 7296 §1.4): deleting the IKE SA (which
 * takes its CHILD SAs along) or one CHILD SA pair. The empty INFORMATIONAL of dead peer
 * detection is {@link DpdTask}.
 */
public final class DeleteTask implements Task {

    private static final Logger LOG = LoggerFactory.getLogger(DeleteTask.class);

    private final IkeSa sa;
    private final ChildSa child;
    private final boolean ike;
    /** Our inbound SPI of a pair the peer may hold that this side never had, or 0. */
    private final int unknownToUs;

    private DeleteTask(IkeSa sa, ChildSa child, boolean ike, int unknownToUs) {
        this.sa = sa;
        this.child = child;
        this.ike = ike;
        this.unknownToUs = unknownToUs;
    }

    /** Deletes the whole IKE SA. */
    public static DeleteTask ikeSa(IkeSa sa) {
        return new DeleteTask(sa, null, true, 0);
    }

    /** Deletes one CHILD SA pair. */
    public static DeleteTask childSa(IkeSa sa, ChildSa child) {
        return new DeleteTask(sa, child, false, 0);
    }

    /**
     * What a CHILD SA the peer has, and the node could not install, is worth: nothing, so it is
     * deleted in IKE too (the peer would send into a black hole). For {@code ChildSas.add}.
     */
    public static Consumer<Boolean> ifNotInstalled(IkeSa sa, ChildSa child) {
        return installed -> {
            IkeSa current = sa.current();
            if (!installed && current.isAlive() && current.childSas().byInboundSpi(child.inboundSpi()).isPresent()) {
                LOG.warn("{}: CHILD_SA {} could not be installed; deleting it", current, child);
                current.tasks().queue(ExchangeType.INFORMATIONAL, childSa(current, child));
            }
        };
    }

    /**
     * After a takeover with a CREATE_CHILD_SA of the old owner's in flight: deletes the pair that
     * exchange proposed with our inbound SPI {@code proposedSpi}, which the peer holds if it
     * processed the request (we never had it), and the CHILD SA it rekeyed, {@code rekeyed} (may
     * be null), which the peer then only waits to see deleted (RFC 7296 §2.8). A peer that never
     * saw the request finds nothing to delete under {@code proposedSpi} (§1.4.1).
     */
    public static DeleteTask exchangeLostInTakeover(IkeSa sa, ChildSa rekeyed, int proposedSpi) {
        return new DeleteTask(sa, rekeyed, false, proposedSpi);
    }

    @Override
    public Status build(OutboundMessage m) {
        if (ike) {
            sa.deleting();
            m.add(DeletePayload.ikeSa());
        } else {
            List<Integer> spis = new ArrayList<>(2);
            if (unknownToUs != 0) {
                spis.add(unknownToUs);
            }
            if (child != null) {
                spis.add(child.inboundSpi());
            }
            // RFC 7296 §3.11: the protocol of the SA; an unknown SPI is answered as ESP, Keel's default.
            m.add(DeletePayload.child(child != null ? child.proposal().protocol().id() : Protocol.ESP.id(), spis));
        }
        return Status.DONE;
    }

    @Override
    public Task movedTo(IkeSa next) {
        return ike ? null : new DeleteTask(next, child, false, unknownToUs);
    }

    @Override
    public Status process(IkeMessage m) {
        if (ike) {
            sa.destroy("deleted by us");
        } else if (child != null) {
            sa.current().childSas().remove(child); // the peer's IKE rekey may have moved it meanwhile (§2.8)
        }
        return Status.DONE;
    }
}
