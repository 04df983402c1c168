package dev.keel.ike.task;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSelector;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.core.ts.TrafficSelectors;
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
 * with our inbound SPI, traffic selectors the responder narrows, USE_TRANSPORT_MODE (§1.3.1),
 * and keys from KEYMAT = prf+(SK_d, Ni | Nr). A child that cannot be agreed fails with
 * NO_PROPOSAL_CHOSEN or TS_UNACCEPTABLE and leaves the IKE SA up (§1.2).
 */
public final class ChildCreateTask implements Task {

    private final IkeSa sa;
    private final boolean initiator;
    private ChildConnection child;
    private int inboundSpi;
    private Proposal selected;
    private int peerSpi;
    private List<TrafficSelector> tsi;
    private List<TrafficSelector> tsr;
    private IpsecMode mode;
    private NotifyType error;

    private ChildCreateTask(IkeSa sa, boolean initiator, ChildConnection child) {
        this.sa = sa;
        this.initiator = initiator;
        this.child = child;
    }

    /** The initiator's task for {@code child}. */
    public static ChildCreateTask initiator(IkeSa sa, ChildConnection child) {
        return new ChildCreateTask(sa, true, child);
    }

    /** The responder's task; the child configuration is found from the proposed selectors. */
    public static ChildCreateTask responder(IkeSa sa) {
        return new ChildCreateTask(sa, false, null);
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
        m.add(SaPayload.fromProposals(child.espProposals().stream()
                .map(p -> ProposalWithSpi.withChildSpi(withoutKeyExchange(p), inboundSpi)).toList()));
        m.add(TsPayload.of(true, child.localTs()));
        m.add(TsPayload.of(false, child.remoteTs()));
        return Status.DONE;
    }

    private Status processResponse(IkeMessage m) {
        Optional<NotifyPayload> err = m.payloads(NotifyPayload.class).stream().filter(NotifyPayload::isError).findFirst();
        if (err.isPresent()) {
            return childFailed("peer refused CHILD_SA " + child.name() + ": " + err.get().notifyType());
        }
        Optional<SaPayload> saPayload = m.first(SaPayload.class);
        List<TsPayload> ts = m.payloads(TsPayload.class);
        if (saPayload.isEmpty() || ts.size() != 2) {
            return childFailed("IKE_AUTH response without SA, TSi and TSr for CHILD_SA " + child.name());
        }
        List<ProposalWithSpi> chosen = saPayload.get().toProposals();
        if (chosen.size() != 1 || chosen.getFirst().spiSize() != 4) {
            return childFailed("responder must choose exactly one ESP proposal with a 4-byte SPI");
        }
        Optional<Proposal> accepted = ProposalSelector.select(child.espProposals().stream()
                .map(ChildCreateTask::withoutKeyExchange).toList(), List.of(chosen.getFirst().proposal()),
                ProposalSelector.Option.SKIP_KEY_EXCHANGE);
        if (accepted.isEmpty()) {
            return childFailed("responder chose an ESP proposal we did not offer: " + chosen.getFirst().proposal());
        }
        tsi = selectors(ts, true);
        tsr = selectors(ts, false);
        if (tsi.isEmpty() || tsr.isEmpty() || !TrafficSelectors.isSubsetOf(tsi, child.localTs())
                || !TrafficSelectors.isSubsetOf(tsr, child.remoteTs())) {
            return childFailed("responder's selectors are not a narrowing of ours (RFC 7296 §2.9)");
        }
        mode = m.notify(NotifyType.USE_TRANSPORT_MODE).isPresent() ? IpsecMode.TRANSPORT : IpsecMode.TUNNEL;
        if (mode != child.mode()) {
            return childFailed("responder answered " + mode + " mode for a " + child.mode() + " child");
        }
        selected = accepted.get();
        peerSpi = (int) chosen.getFirst().spi();
        install(tsi, tsr);
        return Status.DONE;
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
        List<TrafficSelector> proposedI = selectors(ts, true);
        List<TrafficSelector> proposedR = selectors(ts, false);
        boolean wantTransport = m.notify(NotifyType.USE_TRANSPORT_MODE).isPresent();
        List<ProposalWithSpi> offered = saPayload.get().toProposals().stream().filter(p -> p.spiSize() == 4).toList();
        NotifyType problem = NotifyType.TS_UNACCEPTABLE;
        for (ChildConnection candidate : sa.connection().children()) {
            List<TrafficSelector> narrowedI = TrafficSelectors.narrow(proposedI, candidate.remoteTs());
            List<TrafficSelector> narrowedR = TrafficSelectors.narrow(proposedR, candidate.localTs());
            if (narrowedI.isEmpty() || narrowedR.isEmpty()) {
                continue;
            }
            Optional<Proposal> match = ProposalSelector.select(candidate.espProposals().stream()
                    .map(ChildCreateTask::withoutKeyExchange).toList(),
                    offered.stream().map(ProposalWithSpi::proposal).toList(), ProposalSelector.Option.SKIP_KEY_EXCHANGE);
            if (match.isEmpty()) {
                problem = NotifyType.NO_PROPOSAL_CHOSEN;
                continue;
            }
            child = candidate;
            selected = match.get();
            int number = selected.number();
            peerSpi = (int) offered.stream().filter(p -> p.proposal().number() == number).findFirst().orElseThrow().spi();
            tsi = narrowedI;
            tsr = narrowedR;
            mode = wantTransport && candidate.mode() == IpsecMode.TRANSPORT ? IpsecMode.TRANSPORT : IpsecMode.TUNNEL;
            return Status.DONE;
        }
        error = problem;
        sa.env().events().failed(sa, "CHILD_SA refused with " + problem + ": selectors " + proposedI + " === "
                + proposedR + ", proposals " + offered.stream().map(p -> p.proposal().toString()).toList());
        return Status.DONE;
    }

    private Status buildResponse(OutboundMessage m) {
        if (m.hasError() || sa.hasFailed() || (child == null && error == null)) {
            return Status.DONE;
        }
        if (error != null) {
            m.notify(error);
            return Status.DONE;
        }
        inboundSpi = sa.env().spis().allocate();
        if (mode == IpsecMode.TRANSPORT) {
            m.notify(NotifyType.USE_TRANSPORT_MODE);
        }
        m.add(SaPayload.fromProposals(List.of(ProposalWithSpi.withChildSpi(selected, inboundSpi))));
        m.add(TsPayload.of(true, tsi));
        m.add(TsPayload.of(false, tsr));
        install(tsr, tsi);
        return Status.DONE;
    }

    // ---- both ----

    private void install(List<TrafficSelector> local, List<TrafficSelector> remote) {
        ChildSaKeys keys = KeyDerivation.childSa(sa.suite().prf(), sa.keys().skD(), IkeSuite.from(selected), null,
                sa.ni(), sa.nr());
        boolean encap = sa.natDetected();
        sa.addChild(new ChildSa(child.name(), initiator, inboundSpi, peerSpi, selected, mode, local, remote, encap, keys));
    }

    private Status childFailed(String reason) {
        sa.env().spis().release(inboundSpi);
        sa.env().events().failed(sa, reason);
        return Status.DONE;
    }

    static List<TrafficSelector> selectors(List<TsPayload> ts, boolean initiatorSide) {
        return ts.stream().filter(t -> t.initiator() == initiatorSide).findFirst()
                .map(t -> t.toTrafficSelectors().selectors()).orElse(List.of());
    }

    /** The proposal without key exchange methods, as IKE_AUTH's CHILD_SA carries it (RFC 7296 §1.2). */
    static Proposal withoutKeyExchange(Proposal p) {
        Proposal.Builder b = Proposal.builder(p.protocol()).number(p.number());
        p.encryptionAlgorithms().forEach(b::encryption);
        p.integrityAlgorithms().forEach(b::integrity);
        List<EsnTransform> esns = p.esns().isEmpty() ? List.of(EsnTransform.NO_ESN) : p.esns();
        esns.forEach(b::esn);
        return b.build();
    }
}
