package dev.keel.core.proposal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/** Properties over random valid proposals drawn from the whole transform registry. */
class ProposalPropertiesTest {

    @Property
    void printThenParseGivesTheSameProposal(@ForAll("validProposals") Proposal p) throws ProposalSyntaxException {
        assertThat(Proposal.parse(p.protocol(), p.toString())).isEqualTo(p);
    }

    @Property
    void printThenParseListGivesTheSameList(@ForAll("validProposalLists") List<Proposal> list)
            throws ProposalSyntaxException {
        assertThat(Proposal.parseList(list.getFirst().protocol(), Proposal.formatList(list))).isEqualTo(list);
    }

    @Property
    void effectiveIsValidAndIdempotent(@ForAll("validProposals") Proposal p) {
        Proposal effective = p.effective();

        assertThat(effective.isValid()).as(effective.validationError().orElse("")).isTrue();
        assertThat(effective.effective()).isEqualTo(effective);
        if (p.protocol() == Protocol.IKE) {
            assertThat(effective.prfs()).isNotEmpty();
        } else {
            assertThat(effective.esns()).isNotEmpty();
        }
        if (p.isAead()) {
            assertThat(effective.integrityAlgorithms()).isEmpty();
        }
    }

    @Property
    void aProposalMatchesItsOwnEffectiveOffer(@ForAll("validProposals") Proposal p,
            @ForAll @IntRange(min = 1, max = 255) int number) {
        Proposal offer = p.effective().withNumber(number);

        Optional<Proposal> chosen = ProposalSelector.select(List.of(p), List.of(offer));

        assertThat(chosen).hasValueSatisfying(s -> {
            assertThat(s.number()).isEqualTo(number);
            // With the configured order preferred, each type takes the first configured transform.
            assertThat(s.encryptionAlgorithms()).isEqualTo(firstOf(offer.encryptionAlgorithms()));
            assertThat(s.prfs()).isEqualTo(firstOf(offer.prfs()));
            assertThat(s.esns()).isEqualTo(firstOf(offer.esns()));
            assertThat(s.isValid()).as(s.validationError().orElse("")).isTrue();
        });
    }

    @Property
    void aSelectionIsDrawnFromBothSides(@ForAll("validProposals") Proposal mine,
            @ForAll("validProposals") Proposal other) {
        Proposal offer = other.effective().withNumber(1);

        Optional<Proposal> chosen = ProposalSelector.select(List.of(mine), List.of(offer));

        chosen.ifPresent(s -> {
            Proposal local = mine.effective();
            assertThat(s.protocol()).isEqualTo(offer.protocol()).isEqualTo(local.protocol());
            assertThat(offer.encryptionAlgorithms()).containsAll(s.encryptionAlgorithms());
            assertThat(local.encryptionAlgorithms()).containsAll(s.encryptionAlgorithms());
            assertThat(offer.integrityAlgorithms()).containsAll(s.integrityAlgorithms());
            assertThat(local.integrityAlgorithms()).containsAll(s.integrityAlgorithms());
            assertThat(offer.prfs()).containsAll(s.prfs());
            assertThat(offer.keyExchangeMethods()).containsAll(s.keyExchangeMethods());
            assertThat(offer.esns()).containsAll(s.esns());
            for (List<?> type : List.of(s.encryptionAlgorithms(), s.integrityAlgorithms(), s.prfs(),
                    s.keyExchangeMethods(), s.esns())) {
                assertThat(type).hasSizeLessThanOrEqualTo(1);
            }
        });
    }

    private static <T> List<T> firstOf(List<T> list) {
        return list.isEmpty() ? List.of() : List.of(list.getFirst());
    }

    @Provide
    Arbitrary<List<Proposal>> validProposalLists() {
        return Arbitraries.of(Protocol.values())
                .flatMap(protocol -> proposalsFor(protocol).list().ofMinSize(1).ofMaxSize(4));
    }

    @Provide
    Arbitrary<Proposal> validProposals() {
        return Arbitraries.of(Protocol.values()).flatMap(ProposalPropertiesTest::proposalsFor);
    }

    private static Arbitrary<Proposal> proposalsFor(Protocol protocol) {
        List<EncryptionAlgorithm> aead = new ArrayList<>();
        List<EncryptionAlgorithm> normal = new ArrayList<>();
        for (EncryptionTransform e : EncryptionTransform.values()) {
            List<EncryptionAlgorithm> target = e.isAead() ? aead : normal;
            if (e.hasVariableKeyLength()) {
                for (int bits = 8; bits <= 512; bits += 8) {
                    if (e.acceptsKeyLength(bits / 8)) {
                        target.add(new EncryptionAlgorithm(e, bits));
                    }
                }
            } else if (!(protocol == Protocol.IKE && e == EncryptionTransform.NULL)) {
                target.add(EncryptionAlgorithm.of(e));
            }
        }
        List<IntegrityTransform> integrity = new ArrayList<>(List.of(IntegrityTransform.values()));
        integrity.remove(IntegrityTransform.NONE);
        List<KeyExchangeTransform> kes = new ArrayList<>(List.of(KeyExchangeTransform.values()));
        if (protocol == Protocol.IKE) {
            kes.remove(KeyExchangeTransform.NONE);
        }

        Arbitrary<List<EncryptionAlgorithm>> encryption = protocol == Protocol.AH
                ? Arbitraries.just(List.of())
                : Arbitraries.oneOf(
                        Arbitraries.of(aead).list().uniqueElements().ofMinSize(1).ofMaxSize(4),
                        Arbitraries.of(normal).list().uniqueElements().ofMinSize(1).ofMaxSize(4));
        Arbitrary<List<IntegrityTransform>> integ = Arbitraries.of(integrity).list().uniqueElements().ofMaxSize(4);
        Arbitrary<List<PrfTransform>> prfs = protocol == Protocol.IKE
                ? Arbitraries.of(PrfTransform.values()).list().uniqueElements().ofMaxSize(4)
                : Arbitraries.just(List.of());
        Arbitrary<List<KeyExchangeTransform>> ke = Arbitraries.of(kes).list().uniqueElements()
                .ofMinSize(protocol == Protocol.IKE ? 1 : 0).ofMaxSize(4);
        Arbitrary<List<EsnTransform>> esn = protocol == Protocol.IKE
                ? Arbitraries.just(List.of())
                : Arbitraries.of(EsnTransform.values()).list().uniqueElements().ofMaxSize(2);

        return Combinators.combine(encryption, integ, prfs, ke, esn).as((e, i, p, k, s) -> {
            Proposal.Builder b = Proposal.builder(protocol);
            e.forEach(b::encryption);
            i.forEach(b::integrity);
            p.forEach(b::prf);
            k.forEach(b::keyExchange);
            s.forEach(b::esn);
            return b.build();
        }).filter(Proposal::isValid);
    }
}
