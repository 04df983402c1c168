package dev.keel.ike.task;

import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.crypto.ChildSaKeys;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.crypto.KeyDerivation;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.message.ProposalWithSpi;
import dev.keel.ike.message.SaPayload;
import dev.keel.ike.message.TsPayload;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import java.util.List;
import java.util.Optional;

/**
 * The first CHILD_SA, negotiated inside IKE_AUTH (RFC 7296 §1.2, §2.9, §2.17): ESP proposals
 * with our inbound SPI, traffic selectors the responder narrows, USE_TRANSPORT_MODE (§1.3.1)
 * — all decided by {@link ChildNegotiation} — and keys from KEYMAT = prf+(SK_d, Ni | Nr). A
 * child that cannot be agreed fails with NO_PROPOSAL_CHOSEN or TS_UNACCEPTABLE and leaves the
 * IKE SA up (§1.2).
 */
public final class IkeAuthChildTask implements Task {

    private final IkeSa sa;
    private final boolean initiator;
    private final ChildConnection child;
    private int inboundSpi;
    private ChildNegotiation.Agreed agreed;
    private NotifyType error;

    private IkeAuthChildTask(IkeSa sa, boolean initiator, ChildConnection child) {
        this.sa = sa;
        this.initiator = initiator;
        this.child = child;
    }

    /** The initiator's task for {@code child}. */
    public static IkeAuthChildTask initiator(IkeSa sa, ChildConnection child) {
        return new IkeAuthChildTask(sa, true, child);
    }

    /** The responder's task; the child configuration is found from the proposed selectors. */
    public static IkeAuthChildTask responder(IkeSa sa) {
        return new IkeAuthChildTask(sa, false, null);
    }

    @Override
    public Status build(OutboundMessage m) {
        return initiator ? buildRequest(m) : buildResponse(m);
    }

    @Override
    public Status process(IkeMessage m) {
        return initiator ? processResponse(m) : processRequest(m);
    }

    // ---- initiator ----

    private Status buildRequest(OutboundMessage m) {
        inboundSpi = sa.env().spis().allocate();
        if (child.mode() == IpsecMode.TRANSPORT) {
            m.notify(NotifyType.USE_TRANSPORT_MODE);
        }
        m.add(SaPayload.fromProposals(ChildNegotiation.ours(child, true).stream()
                .map(p -> ProposalWithSpi.withChildSpi(p, inboundSpi)).toList()));
        m.add(TsPayload.of(true, child.localTs()));
        m.add(TsPayload.of(false, child.remoteTs()));
        return Status.DONE;
    }

    private Status processResponse(IkeMessage m) {
        Optional<NotifyPayload> err = m.payloads(NotifyPayload.class).stream().filter(NotifyPayload::isError).findFirst();
        if (err.isPresent()) {
            return childFailed("peer refused CHILD_SA " + child.name() + ": " + err.get().notifyType());
        }
        switch (ChildNegotiation.check(m, child, child.localTs(), child.remoteTs(), child.mode(), true)) {
            case ChildNegotiation.Answer.Unacceptable u -> {
                return childFailed("IKE_AUTH " + u.reason());
            }
            case ChildNegotiation.Answer.Accepted a -> {
                agreed = a.agreed();
                install(agreed.tsi(), agreed.tsr());
                return Status.DONE;
            }
        }
    }

    // ---- responder ----

    private Status processRequest(IkeMessage m) {
        if (sa.hasFailed()) {
            return Status.DONE;
        }
        Optional<SaPayload> saPayload = m.first(SaPayload.class);
        List<TsPayload> ts = m.payloads(TsPayload.class);
        if (saPayload.isEmpty() || ts.size() != 2) {
            return Status.DONE; // IKE_AUTH without a child (RFC 6023 childless) is not an error
        }
        boolean transport = m.notify(NotifyType.USE_TRANSPORT_MODE).isPresent();
        switch (ChildNegotiation.choose(sa.connection().children(), saPayload.get(), ts, transport, true)) {
            case ChildNegotiation.Choice.Chosen c -> agreed = c.agreed();
            case ChildNegotiation.Choice.Refused r -> {
                error = r.error();
                sa.env().events().failed(sa, r.reason());
            }
        }
        return Status.DONE;
    }

    private Status buildResponse(OutboundMessage m) {
        if (m.hasError() || sa.hasFailed() || (agreed == null && error == null)) {
            return Status.DONE;
        }
        if (error != null) {
            m.notify(error);
            return Status.DONE;
        }
        inboundSpi = sa.env().spis().allocate();
        if (agreed.mode() == IpsecMode.TRANSPORT) {
            m.notify(NotifyType.USE_TRANSPORT_MODE);
        }
        m.add(SaPayload.fromProposals(List.of(ProposalWithSpi.withChildSpi(agreed.proposal(), inboundSpi))));
        m.add(TsPayload.of(true, agreed.tsi()));
        m.add(TsPayload.of(false, agreed.tsr()));
        install(agreed.tsr(), agreed.tsi());
        return Status.DONE;
    }

    // ---- both ----

    private void install(List<TrafficSelector> local, List<TrafficSelector> remote) {
        ChildSaKeys keys = KeyDerivation.childSa(sa.suite().prf(), sa.keys().skD(), IkeSuite.from(agreed.proposal()),
                null, sa.ni(), sa.nr());
        ChildSa child = new ChildSa(agreed.child().name(), initiator, inboundSpi, agreed.peerSpi(), agreed.proposal(),
                agreed.mode(), local, remote, sa.endpoints().natDetected(), keys);
        sa.childSas().add(child, DeleteTask.ifNotInstalled(sa, child));
    }

    private Status childFailed(String reason) {
        sa.env().spis().release(inboundSpi);
        sa.env().events().failed(sa, reason);
        return Status.DONE;
    }
}
