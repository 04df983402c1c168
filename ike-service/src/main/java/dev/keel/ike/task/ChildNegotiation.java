package dev.keel.ike.task;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSelector;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.core.ts.TrafficSelectors;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.message.ProposalWithSpi;
import dev.keel.ike.message.SaPayload;
import dev.keel.ike.message.TsPayload;
import java.util.List;
import java.util.Optional;

/**
 * How two peers agree on a CHILD SA, the same in IKE_AUTH ({@link IkeAuthChildTask}) and in
 * CREATE_CHILD_SA ({@link CreateChildSaTask}): the responder narrows the proposed traffic
 * selectors against each configured child (RFC 7296 §2.9), selects one of the ESP proposals
 * and the mode (§1.3.1); the initiator checks that the answer is one of its proposals, a
 * narrowing of its selectors and the mode it asked for. In IKE_AUTH the proposals carry no key
 * exchange method (§1.2), hence {@link #withoutKeyExchange}.
 */
final class ChildNegotiation {

    private ChildNegotiation() {
    }

    /**
     * What the two sides agreed on.
     *
     * @param peerSpi the SPI the peer receives on (our outbound SPI)
     * @param tsi     the initiator's selectors (TSi)
     * @param tsr     the responder's selectors (TSr)
     */
    record Agreed(ChildConnection child, Proposal proposal, int peerSpi, List<TrafficSelector> tsi,
            List<TrafficSelector> tsr, IpsecMode mode) {
    }

    /** The responder's answer to a proposed CHILD SA. */
    sealed interface Choice {
        /** A configured child fits: these are the SA's parameters. */
        record Chosen(Agreed agreed) implements Choice {
        }

        /** No child fits; the initiator gets {@code error} (TS_UNACCEPTABLE or NO_PROPOSAL_CHOSEN). */
        record Refused(NotifyType error, String reason) implements Choice {
        }
    }

    /**
     * Responder: the first of {@code candidates} whose selectors narrow the proposed ones and whose
     * ESP proposals meet the offered ones. NO_PROPOSAL_CHOSEN when selectors fitted somewhere but
     * proposals never, TS_UNACCEPTABLE otherwise (§2.9, §3.10.1).
     *
     * @param inIkeAuth proposals carry no key exchange method (IKE_AUTH) rather than a PFS group
     */
    static Choice choose(List<ChildConnection> candidates, SaPayload sa, List<TsPayload> ts, boolean transportWanted,
            boolean inIkeAuth) {
        List<TrafficSelector> proposedI = selectors(ts, true);
        List<TrafficSelector> proposedR = selectors(ts, false);
        List<ProposalWithSpi> offered = sa.toProposals().stream().filter(p -> p.spiSize() == 4).toList();
        List<Proposal> offeredProposals = offered.stream().map(ProposalWithSpi::proposal).toList();
        NotifyType problem = NotifyType.TS_UNACCEPTABLE;
        for (ChildConnection candidate : candidates) {
            List<TrafficSelector> narrowedI = TrafficSelectors.narrow(proposedI, candidate.remoteTs());
            List<TrafficSelector> narrowedR = TrafficSelectors.narrow(proposedR, candidate.localTs());
            if (narrowedI.isEmpty() || narrowedR.isEmpty()) {
                continue;
            }
            Optional<Proposal> match = inIkeAuth
                    ? ProposalSelector.select(ours(candidate, true), offeredProposals, ProposalSelector.Option.SKIP_KEY_EXCHANGE)
                    : ProposalSelector.select(candidate.espProposals(), offeredProposals);
            if (match.isEmpty()) {
                problem = NotifyType.NO_PROPOSAL_CHOSEN;
                continue;
            }
            int number = match.get().number();
            int peerSpi = (int) offered.stream().filter(p -> p.proposal().number() == number).findFirst().orElseThrow().spi();
            IpsecMode mode = transportWanted && candidate.mode() == IpsecMode.TRANSPORT ? IpsecMode.TRANSPORT : IpsecMode.TUNNEL;
            return new Choice.Chosen(new Agreed(candidate, match.get(), peerSpi, narrowedI, narrowedR, mode));
        }
        return new Choice.Refused(problem, "CHILD_SA refused with " + problem + ": selectors " + proposedI + " === "
                + proposedR + ", proposals " + offeredProposals);
    }

    /** The initiator's verdict on a response. */
    sealed interface Answer {
        /** The response agrees to a CHILD SA we asked for. */
        record Accepted(Agreed agreed) implements Answer {
        }

        /** The response is not an answer to what we asked for. */
        record Unacceptable(String reason) implements Answer {
        }
    }

    /**
     * Initiator: checks a response against what we asked for ({@code child}'s proposals, selectors
     * {@code offeredI} / {@code offeredR}, mode {@code wanted}): one of our proposals with a 4-byte
     * SPI, a narrowing of our selectors, the same mode.
     */
    static Answer check(IkeMessage response, ChildConnection child, List<TrafficSelector> offeredI,
            List<TrafficSelector> offeredR, IpsecMode wanted, boolean inIkeAuth) {
        Optional<SaPayload> saPayload = response.first(SaPayload.class);
        List<TsPayload> ts = response.payloads(TsPayload.class);
        if (saPayload.isEmpty() || ts.size() != 2) {
            return new Answer.Unacceptable("response without SA, TSi and TSr for CHILD_SA " + child.name());
        }
        List<ProposalWithSpi> chosen = saPayload.get().toProposals();
        if (chosen.size() != 1 || chosen.getFirst().spiSize() != 4) {
            return new Answer.Unacceptable("responder must choose exactly one ESP proposal with a 4-byte SPI");
        }
        Proposal choice = chosen.getFirst().proposal();
        Optional<Proposal> accepted = inIkeAuth
                ? ProposalSelector.select(ours(child, true), List.of(choice), ProposalSelector.Option.SKIP_KEY_EXCHANGE)
                : ProposalSelector.select(child.espProposals(), List.of(choice));
        if (accepted.isEmpty()) {
            return new Answer.Unacceptable("responder chose an ESP proposal we did not offer: " + choice);
        }
        List<TrafficSelector> tsi = selectors(ts, true);
        List<TrafficSelector> tsr = selectors(ts, false);
        if (tsi.isEmpty() || tsr.isEmpty() || !TrafficSelectors.isSubsetOf(tsi, offeredI)
                || !TrafficSelectors.isSubsetOf(tsr, offeredR)) {
            return new Answer.Unacceptable("responder's selectors are not a narrowing of ours (RFC 7296 §2.9)");
        }
        IpsecMode mode = response.notify(NotifyType.USE_TRANSPORT_MODE).isPresent() ? IpsecMode.TRANSPORT : IpsecMode.TUNNEL;
        if (mode != wanted) {
            return new Answer.Unacceptable("responder answered " + mode + " mode for a " + wanted + " child");
        }
        return new Answer.Accepted(new Agreed(child, accepted.get(), (int) chosen.getFirst().spi(), tsi, tsr, mode));
    }

    /** {@code child}'s ESP proposals as this exchange offers them: without key exchange methods in IKE_AUTH. */
    static List<Proposal> ours(ChildConnection child, boolean inIkeAuth) {
        return inIkeAuth ? child.espProposals().stream().map(ChildNegotiation::withoutKeyExchange).toList()
                : child.espProposals();
    }

    /** The initiator's (TSi) or responder's (TSr) selectors of a message, empty when absent. */
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
