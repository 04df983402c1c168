package dev.keel.core.proposal;

import dev.keel.core.transform.EsnTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import dev.keel.core.transform.TransformType;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The responder's side of proposal negotiation (RFC 7296 §2.7): picks one of the peer's
 * proposals and one transform of each type from it, the way strongSwan does.
 *
 * <p>By default the configured proposals are preferred, as with strongSwan's default
 * {@code charon.prefer_configured_proposals = yes}: for each configured proposal in order, the
 * peer's proposals are tried in their order, and within a match each type takes the first
 * configured transform the peer also offers. {@link Option#PREFER_OFFERED} swaps the roles.
 *
 * <p>Configured proposals are used {@linkplain Proposal#effective() effective}ly (implied PRF,
 * implied NO_ESN, no integrity with AEAD); the peer's are taken exactly as offered, so an ESP
 * offer without an ESN transform (which RFC 7296 §3.3.3 makes mandatory) matches nothing. Rules
 * per type:
 * <ul>
 *   <li>a type neither side names is left out; a type only one side names fails the match;</li>
 *   <li>encryption matches on transform and key length together (RFC 7296 §3.3.5);</li>
 *   <li>when the chosen cipher is AEAD no integrity transform is chosen, even if the peer
 *       (wrongly, RFC 5282 §8) offered one;</li>
 *   <li>for ESP and AH the key exchange is optional: a side that offers
 *       {@link KeyExchangeTransform#NONE} accepts the other side offering no key exchange, and
 *       NONE is chosen (and returned) when the peer offered it and it is the match;</li>
 *   <li>each Additional Key Exchange type ADDKE1-7 (RFC 9370 §2.2.1) follows that same rule, so
 *       {@code ke1_none} makes an additional exchange optional, and a peer that offers none
 *       (strongSwan 5.x, which has no RFC 9370) matches only proposals without it.</li>
 * </ul>
 */
public final class ProposalSelector {

    /** Changes to the default selection, after strongSwan's proposal selection flags. */
    public enum Option {
        /** Prefer the peer's order of proposals and transforms over the configured order. */
        PREFER_OFFERED,
        /**
         * Ignore key exchange methods (additional ones too) on both sides, as for the CHILD_SA
         * created in IKE_AUTH, whose SA payload carries no KE transform (RFC 7296 §1.2).
         */
        SKIP_KEY_EXCHANGE
    }

    private ProposalSelector() {
    }

    /**
     * The first acceptable match: a proposal with the peer's protocol and proposal number and
     * at most one transform per type (exactly one for each type the match involves), or empty
     * when nothing is acceptable and the responder answers NO_PROPOSAL_CHOSEN.
     *
     * @param configured our proposals, in preference order; each must be valid
     * @param offered    the peer's proposals as decoded, carrying their proposal numbers
     * @throws IllegalArgumentException when a configured proposal is not
     *         {@linkplain Proposal#isValid() valid}
     */
    public static Optional<Proposal> select(List<Proposal> configured, List<Proposal> offered,
            Option... options) {
        Objects.requireNonNull(configured, "configured");
        Objects.requireNonNull(offered, "offered");
        Set<Option> flags = EnumSet.noneOf(Option.class);
        Collections.addAll(flags, options);
        List<Proposal> local = configured.stream().map(ProposalSelector::effectiveConfigured).toList();
        boolean localFirst = !flags.contains(Option.PREFER_OFFERED);
        boolean skipKe = flags.contains(Option.SKIP_KEY_EXCHANGE);
        if (localFirst) {
            for (Proposal mine : local) {
                for (Proposal theirs : offered) {
                    Optional<Proposal> match = match(mine, theirs, true, skipKe);
                    if (match.isPresent()) {
                        return match;
                    }
                }
            }
        } else {
            for (Proposal theirs : offered) {
                for (Proposal mine : local) {
                    Optional<Proposal> match = match(mine, theirs, false, skipKe);
                    if (match.isPresent()) {
                        return match;
                    }
                }
            }
        }
        return Optional.empty();
    }

    private static Proposal effectiveConfigured(Proposal proposal) {
        Optional<String> error = proposal.validationError();
        if (error.isPresent()) {
            throw new IllegalArgumentException(
                    "configured " + proposal.protocol() + " proposal '" + proposal + "' is invalid: " + error.get());
        }
        return proposal.effective();
    }

    private static Optional<Proposal> match(Proposal mine, Proposal theirs, boolean localFirst, boolean skipKe) {
        if (mine.protocol() != theirs.protocol()) {
            return Optional.empty();
        }
        Proposal.Builder selected = Proposal.builder(theirs.protocol()).number(theirs.number());

        Pick<EncryptionAlgorithm> encryption =
                common(mine.encryptionAlgorithms(), theirs.encryptionAlgorithms(), localFirst);
        if (!encryption.matched()) {
            return Optional.empty();
        }
        boolean aead = false;
        if (encryption.value() != null) {
            selected.encryption(encryption.value());
            aead = encryption.value().isAead();
        }

        if (!aead) {
            Pick<IntegrityTransform> integrity =
                    common(mine.integrityAlgorithms(), theirs.integrityAlgorithms(), localFirst);
            if (!integrity.matched()) {
                return Optional.empty();
            }
            if (integrity.value() != null) {
                selected.integrity(integrity.value());
            }
        }

        Pick<PrfTransform> prf = common(mine.prfs(), theirs.prfs(), localFirst);
        if (!prf.matched()) {
            return Optional.empty();
        }
        if (prf.value() != null) {
            selected.prf(prf.value());
        }

        if (!skipKe) {
            Pick<KeyExchangeTransform> ke = mine.protocol() == Protocol.IKE
                    ? common(mine.keyExchangeMethods(), theirs.keyExchangeMethods(), localFirst)
                    : optionalKeyExchange(mine.keyExchangeMethods(), theirs.keyExchangeMethods(), localFirst);
            if (!ke.matched()) {
                return Optional.empty();
            }
            if (ke.value() != null) {
                selected.keyExchange(ke.value());
            }
            // RFC 9370 §2.2.1: one transform per ADDKE type; NONE in a list makes that exchange optional
            for (int n = 1; n <= TransformType.ADDITIONAL_KEY_EXCHANGES; n++) {
                Pick<KeyExchangeTransform> add = optionalKeyExchange(mine.additionalKeyExchanges(n),
                        theirs.additionalKeyExchanges(n), localFirst);
                if (!add.matched()) {
                    return Optional.empty();
                }
                if (add.value() != null) {
                    selected.additionalKeyExchange(n, add.value());
                }
            }
        }

        Pick<EsnTransform> esn = common(mine.esns(), theirs.esns(), localFirst);
        if (!esn.matched()) {
            return Optional.empty();
        }
        if (esn.value() != null) {
            selected.esn(esn.value());
        }
        return Optional.of(selected.build());
    }

    /** The first entry of the preferred list that the other list holds too. */
    private static <T> Pick<T> common(List<T> mine, List<T> theirs, boolean localFirst) {
        if (mine.isEmpty() && theirs.isEmpty()) {
            return Pick.nothing();
        }
        List<T> preferred = localFirst ? mine : theirs;
        List<T> other = localFirst ? theirs : mine;
        for (T candidate : preferred) {
            if (other.contains(candidate)) {
                return Pick.of(candidate);
            }
        }
        return Pick.failed();
    }

    /**
     * Key exchange for ESP and AH, where it is optional (RFC 7296 §3.3.3): NONE on one side
     * stands in for the other side offering none at all.
     */
    private static Pick<KeyExchangeTransform> optionalKeyExchange(List<KeyExchangeTransform> mine,
            List<KeyExchangeTransform> theirs, boolean localFirst) {
        if (mine.isEmpty() && !theirs.isEmpty()) {
            return theirs.contains(KeyExchangeTransform.NONE)
                    ? Pick.of(KeyExchangeTransform.NONE)
                    : Pick.failed();
        }
        if (theirs.isEmpty() && !mine.isEmpty()) {
            return mine.contains(KeyExchangeTransform.NONE) ? Pick.nothing() : Pick.failed();
        }
        return common(mine, theirs, localFirst);
    }

    /** The outcome for one transform type: failed, matched with nothing to choose, or a choice. */
    private record Pick<T>(boolean matched, T value) {
        static <T> Pick<T> failed() {
            return new Pick<>(false, null);
        }

        static <T> Pick<T> nothing() {
            return new Pick<>(true, null);
        }

        static <T> Pick<T> of(T value) {
            return new Pick<>(true, value);
        }
    }
}
