package dev.keel.ike.task;

import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.core.proposal.Protocol;
import dev.keel.ike.message.DeletePayload;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The responder's side of INFORMATIONAL (RFC 7296 §1.4): an empty request is a liveness check
 * and gets an empty response; a Delete of the IKE SA is answered empty and the IKE SA with all
 * its CHILD SAs goes; a Delete of ESP SPIs removes those CHILD SAs and answers with the SPIs of
 * our inbound halves (§1.4.1: both directions go together).
 */
public final class InformationalTask implements Task {

    private final IkeSa sa;
    private boolean deleteIke;
    private final List<ChildSa> deleted = new ArrayList<>();
    private final List<Integer> deletedInbound = new ArrayList<>();
    private final List<Integer> deletedInboundAh = new ArrayList<>();

    /** The responder's task for {@code sa}. */
    public InformationalTask(IkeSa sa) {
        this.sa = sa;
    }

    @Override
    public Status process(IkeMessage m) {
        for (DeletePayload d : m.payloads(DeletePayload.class)) {
            if (d.protocolId() == Protocol.IKE.id()) {
                deleteIke = true;
            } else if ((d.protocolId() == Protocol.ESP.id() || d.protocolId() == Protocol.AH.id()) && d.spiSize() == 4) {
                for (byte[] spi : d.spis()) {
                    int peerInbound = ByteBuffer.wrap(spi).getInt();
                    for (ChildSa child : sa.children()) {
                        if (child.outboundSpi() == peerInbound && child.proposal().protocol().id() == d.protocolId()
                                && !deleted.contains(child)) {
                            deleted.add(child);
                        }
                    }
                }
            }
        }
        if (deleteIke) {
            IkeRekeyTask.peerDeletes(sa); // §2.8.2: a rekey collision only we saw; the peer's new IKE SA takes the children
        }
        List<ChildSa> lost = sa.childSas().lost(deleted);
        for (ChildSa child : deleted) {
            (child.proposal().protocol() == Protocol.AH ? deletedInboundAh : deletedInbound).add(child.inboundSpi());
            sa.childSas().remove(child);
        }
        if (!lost.isEmpty()) {
            sa.env().events().childrenLost(sa, lost, false);
        }
        return Status.DONE;
    }

    @Override
    public Status build(OutboundMessage m) {
        if (deleteIke) {
            sa.deleting();
            sa.tasks().afterResponse(() -> sa.destroyByPeer("deleted by the peer", false));
        } else {
            // RFC 7296 §1.4.1: the answer deletes our inbound halves, one Delete payload per protocol.
            if (!deletedInbound.isEmpty()) {
                m.add(DeletePayload.esp(deletedInbound));
            }
            if (!deletedInboundAh.isEmpty()) {
                m.add(DeletePayload.child(Protocol.AH.id(), deletedInboundAh));
            }
        }
        return Status.DONE;
    }
}
