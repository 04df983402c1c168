package dev.keel.core.proposal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Properties over random valid proposals drawn from the whole transform registry. */
class ProposalPropertiesTest {

    @Test
    void printThenParseGivesTheSameProposal() throws ProposalSyntaxException {
        for (Proposal p : proposals(1)) {
            assertThat(Proposal.parse(p.protocol(), p.toString())).isEqualTo(p);
        }
    }

    @Test
    void printThenParseListGivesTheSameList() throws ProposalSyntaxException {
        Random random = new Random(2);
        for (int i = 0; i < TRIES; i++) {
            Protocol protocol = Protocol.values()[random.nextInt(3)];
            List<Proposal> list = new ArrayList<>();
            for (int n = 1 + random.nextInt(4); list.size() < n; ) {
                list.add(randomProposal(random, protocol));
            }
            assertThat(Proposal.parseList(protocol, Proposal.formatList(list))).isEqualTo(list);
        }
    }

    @Test
    void effectiveIsValidAndIdempotent() {
        for (Proposal p : proposals(3)) {
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
    }

    @Test
    void aProposalMatchesItsOwnEffectiveOffer() {
        List<Proposal> proposals = proposals(4);
        for (int i = 0; i < proposals.size(); i++) {
            Proposal p = proposals.get(i);
            int number = i % 255 + 1;
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
    }

    @Test
    void aSelectionIsDrawnFromBothSides() {
        Random random = new Random(5);
        for (int i = 0; i < TRIES; i++) {
            Protocol protocol = Protocol.values()[random.nextInt(3)];
            Proposal mine = randomProposal(random, protocol);
            Proposal other = randomProposal(random, protocol);
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
    }

    private static <T> List<T> firstOf(List<T> list) {
        return list.isEmpty() ? List.of() : List.of(list.getFirst());
    }

    private static final int TRIES = 1000;

    /** {@link #TRIES} random valid proposals of random protocols, reproducible from {@code seed}. */
    private static List<Proposal> proposals(long seed) {
        Random random = new Random(seed);
        List<Proposal> out = new ArrayList<>();
        while (out.size() < TRIES) {
            out.add(randomProposal(random, Protocol.values()[random.nextInt(3)]));
        }
        return out;
    }

    /** A random valid proposal for {@code protocol} drawn from the whole registry. */
    private static Proposal randomProposal(Random random, Protocol protocol) {
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
        kes.removeIf(k -> k.family() == KeyExchangeTransform.Family.KEM); // ML-KEM only as an additional exchange
        if (protocol == Protocol.IKE) {
            kes.remove(KeyExchangeTransform.NONE);
        }
        for (int attempt = 0; attempt < 10_000; attempt++) {
            Proposal.Builder b = Proposal.builder(protocol);
            if (protocol != Protocol.AH) {
                pick(random, random.nextBoolean() ? aead : normal, 1, 4).forEach(b::encryption);
            }
            pick(random, integrity, 0, 4).forEach(b::integrity);
            if (protocol == Protocol.IKE) {
                pick(random, List.of(PrfTransform.values()), 0, 4).forEach(b::prf);
            }
            pick(random, kes, protocol == Protocol.IKE ? 1 : 0, 4).forEach(b::keyExchange);
            if (protocol != Protocol.IKE) {
                pick(random, List.of(EsnTransform.values()), 0, 2).forEach(b::esn);
            }
            Proposal p = b.build();
            if (p.isValid()) {
                return p;
            }
        }
        throw new AssertionError("no valid " + protocol + " proposal generated");
    }

    /** Between min and max distinct elements of {@code from}, in random order. */
    private static <T> List<T> pick(Random random, List<T> from, int min, int max) {
        List<T> shuffled = new ArrayList<>(from);
        Collections.shuffle(shuffled, random);
        int n = min + random.nextInt(Math.min(max, shuffled.size()) - min + 1);
        return shuffled.subList(0, n);
    }
}
