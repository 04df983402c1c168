package dev.keel.core.proposal;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import dev.keel.core.transform.Transform;
import dev.keel.core.transform.TransformType;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;

/**
 * An immutable SA proposal (RFC 7296 §3.3.1): a protocol and, per transform type, the transforms
 * offered in order of preference.
 *
 * <p>A proposal holds what was declared, whether in a configuration string or in a peer's SA
 * payload. {@link #effective()} applies strongSwan's implied rules to a configured proposal and
 * {@link #validationError()} says whether a configured proposal makes sense; neither is applied
 * to a peer's offer, whose transforms are taken exactly as sent (see {@link ProposalSelector}).
 *
 * <p>Only transforms in Keel's registry can be held. A codec decoding a peer's proposal drops
 * transforms it does not know, and an Integrity {@code NONE}, which a peer may send alongside an
 * AEAD cipher (RFC 7634 §4) to say "no integrity": what an empty integrity list already says.
 *
 * <p>{@link #toString()} prints strongSwan's proposal syntax, which carries neither the protocol
 * nor the proposal number; {@link #equals} compares both, plus every list in order.
 */
public final class Proposal {

    private final Protocol protocol;
    private final int number;
    private final List<EncryptionAlgorithm> encryption;
    private final List<IntegrityTransform> integrity;
    private final List<PrfTransform> prfs;
    private final List<KeyExchangeTransform> keyExchanges;
    /** ADDKE1-7 (RFC 9370), index n-1; an empty list where the type is not named. */
    private final List<List<KeyExchangeTransform>> additionalKeyExchanges;
    private final List<EsnTransform> esns;

    private Proposal(Protocol protocol, int number, List<EncryptionAlgorithm> encryption,
            List<IntegrityTransform> integrity, List<PrfTransform> prfs,
            List<KeyExchangeTransform> keyExchanges, List<List<KeyExchangeTransform>> additionalKeyExchanges,
            List<EsnTransform> esns) {
        this.protocol = protocol;
        this.number = number;
        this.encryption = List.copyOf(encryption);
        this.integrity = List.copyOf(integrity);
        this.prfs = List.copyOf(prfs);
        this.keyExchanges = List.copyOf(keyExchanges);
        this.additionalKeyExchanges = additionalKeyExchanges.stream().map(List::copyOf).toList();
        this.esns = List.copyOf(esns);
    }

    /** A builder for a proposal of the given protocol, numbered 0 (unnumbered). */
    public static Builder builder(Protocol protocol) {
        return new Builder(protocol);
    }

    /**
     * Parses one proposal in strongSwan syntax, e.g. {@code aes256gcm16-prfsha256-x25519}, and
     * validates it for {@code protocol}. The result holds the transforms as written (aliases
     * normalized, numbered 0); call {@link #effective()} for the implied ones.
     *
     * <p>strongSwan's {@code default} keyword is not supported: a Keel configuration names its
     * algorithms.
     *
     * @throws ProposalSyntaxException on an empty proposal or algorithm, an unknown keyword, or a
     *         combination {@link #validationError()} rejects
     */
    public static Proposal parse(Protocol protocol, String text) throws ProposalSyntaxException {
        return ProposalParser.parse(protocol, text);
    }

    /**
     * Parses a comma-separated list of proposals, as in swanctl.conf {@code proposals} or
     * {@code esp_proposals}, keeping its order, which is the order of preference.
     *
     * @throws ProposalSyntaxException on the first proposal that does not parse, or an empty list
     *         or list entry
     */
    public static List<Proposal> parseList(Protocol protocol, String text) throws ProposalSyntaxException {
        return ProposalParser.parseList(protocol, text);
    }

    /** Prints proposals as a list {@link #parseList} reads back: each {@link #toString()}, joined by ", ". */
    public static String formatList(List<Proposal> proposals) {
        StringJoiner joiner = new StringJoiner(", ");
        for (Proposal p : proposals) {
            joiner.add(p.toString());
        }
        return joiner.toString();
    }

    /** The protocol this proposal negotiates. */
    public Protocol protocol() {
        return protocol;
    }

    /** The Proposal Num (RFC 7296 §3.3.1), 1-255 in an SA payload; 0 for a configured proposal. */
    public int number() {
        return number;
    }

    /** A copy of this proposal with another number, e.g. when a codec numbers configured proposals. */
    public Proposal withNumber(int newNumber) {
        checkNumber(newNumber);
        return new Proposal(protocol, newNumber, encryption, integrity, prfs, keyExchanges, additionalKeyExchanges, esns);
    }

    /**
     * The transforms offered as Additional Key Exchange {@code n} (ADDKE1-7, RFC 9370 §2.2.1),
     * most preferred first; empty when the type is not named. {@link KeyExchangeTransform#NONE}
     * makes the additional exchange optional.
     */
    public List<KeyExchangeTransform> additionalKeyExchanges(int n) {
        TransformType.additionalKeyExchange(n); // checks n
        return additionalKeyExchanges.get(n - 1);
    }

    /** True when any ADDKE type is named. */
    public boolean hasAdditionalKeyExchanges() {
        for (List<KeyExchangeTransform> l : additionalKeyExchanges) {
            if (!l.isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The key exchanges a negotiated proposal (one transform per type) runs after the first, in
     * order ADDKE1..7 (RFC 9370 §2.2.1), leaving out types chosen as NONE.
     */
    public List<KeyExchangeTransform> chosenAdditionalKeyExchanges() {
        List<KeyExchangeTransform> out = new ArrayList<>();
        for (List<KeyExchangeTransform> l : additionalKeyExchanges) {
            if (!l.isEmpty() && l.getFirst() != KeyExchangeTransform.NONE) {
                out.add(l.getFirst());
            }
        }
        return List.copyOf(out);
    }

    /** This proposal without its ADDKE types, as offered where Keel runs no additional key exchange. */
    public Proposal withoutAdditionalKeyExchanges() {
        return new Proposal(protocol, number, encryption, integrity, prfs, keyExchanges, noAdditional(), esns);
    }

    private static List<List<KeyExchangeTransform>> noAdditional() {
        List<List<KeyExchangeTransform>> out = new ArrayList<>();
        for (int n = 0; n < TransformType.ADDITIONAL_KEY_EXCHANGES; n++) {
            out.add(List.of());
        }
        return out;
    }

    /** Encryption transforms with their key lengths, most preferred first. */
    public List<EncryptionAlgorithm> encryptionAlgorithms() {
        return encryption;
    }

    /** Integrity transforms, most preferred first. */
    public List<IntegrityTransform> integrityAlgorithms() {
        return integrity;
    }

    /** Pseudorandom functions, most preferred first. */
    public List<PrfTransform> prfs() {
        return prfs;
    }

    /** Key exchange methods, most preferred first; {@link KeyExchangeTransform#NONE} offers "no PFS". */
    public List<KeyExchangeTransform> keyExchangeMethods() {
        return keyExchanges;
    }

    /** Extended Sequence Number choices, most preferred first. */
    public List<EsnTransform> esns() {
        return esns;
    }

    /** True when there is encryption and every encryption transform is combined-mode (AEAD). */
    public boolean isAead() {
        if (encryption.isEmpty()) {
            return false;
        }
        for (EncryptionAlgorithm e : encryption) {
            if (!e.isAead()) {
                return false;
            }
        }
        return true;
    }

    /**
     * This proposal with strongSwan's implied rules applied, i.e. what is actually offered:
     * <ul>
     *   <li>IKE without a PRF gets, in order, the PRF matching each of its integrity algorithms
     *       ({@link IntegrityTransform#matchingPrf()}); this happens before the next rule, so
     *       {@code aes256gcm16-sha256-x25519} offers PRF_HMAC_SHA2_256;</li>
     *   <li>an all-AEAD IKE or ESP proposal has no integrity algorithm (RFC 7296 §3.3,
     *       RFC 5282 §8: combined-mode ciphers are not offered with one);</li>
     *   <li>ESP or AH without an ESN transform offers {@link EsnTransform#NO_ESN} only, since
     *       RFC 7296 §3.3.3 makes the ESN transform mandatory on the wire for them.</li>
     * </ul>
     * The number is kept. Apply this to configured proposals only, never to a peer's.
     */
    public Proposal effective() {
        List<PrfTransform> effectivePrfs = prfs;
        if (protocol == Protocol.IKE && prfs.isEmpty()) {
            Set<PrfTransform> implied = new LinkedHashSet<>();
            for (IntegrityTransform i : integrity) {
                if (i.matchingPrf() != null) {
                    implied.add(i.matchingPrf());
                }
            }
            effectivePrfs = List.copyOf(implied);
        }
        List<IntegrityTransform> effectiveIntegrity = integrity;
        if (protocol != Protocol.AH && isAead()) {
            effectiveIntegrity = List.of();
        }
        List<EsnTransform> effectiveEsns = esns;
        if (protocol != Protocol.IKE && esns.isEmpty()) {
            effectiveEsns = List.of(EsnTransform.NO_ESN);
        }
        return new Proposal(protocol, number, encryption, effectiveIntegrity, effectivePrfs,
                keyExchanges, additionalKeyExchanges, effectiveEsns);
    }

    /** True when {@link #validationError()} finds nothing wrong. */
    public boolean isValid() {
        return validationError().isEmpty();
    }

    /**
     * The first reason this proposal cannot be configured for its protocol, or empty when it can.
     * The rules are strongSwan's, with implied transforms taken into account, plus a few Keel
     * makes stricter where strongSwan silently drops or accepts what makes no sense:
     * <ul>
     *   <li>no algorithm may be listed twice;</li>
     *   <li>IKE: encryption other than NULL is mandatory; AEAD and non-AEAD ciphers are not
     *       mixed; non-AEAD needs
     *       integrity; a PRF (explicit or implied) and a key exchange method other than
     *       {@code none} are mandatory; no ESN transform (RFC 7296 §3.3.3);</li>
     *   <li>ESP: encryption is mandatory; no mixing; non-AEAD encryption, NULL included, needs
     *       integrity (strongSwan accepts encryption-only ESP; RFC 8221 §3 allows AUTH_NONE only
     *       with AEAD ciphers, and RFC 4303 §3.2 forbids NULL encryption with no integrity);
     *       no PRF;</li>
     *   <li>AH: integrity is mandatory; no encryption and no PRF.</li>
     * </ul>
     */
    public Optional<String> validationError() {
        String duplicate = firstDuplicate();
        if (duplicate != null) {
            return Optional.of("'" + duplicate + "' is listed twice");
        }
        return Optional.ofNullable(switch (protocol) {
            case IKE -> ikeError();
            case ESP -> espError();
            case AH -> ahError();
        });
    }

    private String ikeError() {
        if (encryption.contains(EncryptionAlgorithm.of(EncryptionTransform.NULL))) {
            // The IANA Transform Type 1 registry marks ENCR_NULL "not allowed" for IKEv2: the
            // IKE SA carries authentication data and keys, so it must be confidential.
            return "null encryption is for ESP only, not allowed in IKE proposals";
        }
        String cipherError = cipherError();
        if (cipherError != null) {
            return cipherError;
        }
        if (effective().prfs.isEmpty()) {
            return "a PRF is mandatory in IKE proposals: name one (e.g. prfsha256)"
                    + " or an integrity algorithm that implies it";
        }
        if (keyExchanges.contains(KeyExchangeTransform.NONE)) {
            // RFC 7296 §3.3.3: KE is mandatory for IKE; strongSwan drops 'none' here silently.
            return "key exchange method 'none' is not allowed in IKE proposals";
        }
        if (keyExchanges.isEmpty()) {
            return "a key exchange method is mandatory in IKE proposals";
        }
        String kem = kemFirstError();
        if (kem != null) {
            return kem;
        }
        for (List<KeyExchangeTransform> l : additionalKeyExchanges) {
            if (l.size() == 1 && l.getFirst() == KeyExchangeTransform.NONE) {
                return "an additional key exchange of only 'none' offers nothing: name a method (e.g. ke1_mlkem768)";
            }
        }
        if (!esns.isEmpty()) {
            return "ESN transforms apply to ESP and AH, not to IKE proposals";
        }
        return null;
    }

    private String espError() {
        if (!prfs.isEmpty()) {
            return "a PRF is negotiated for IKE only, not in ESP proposals";
        }
        String additional = additionalError();
        if (additional == null) {
            additional = kemFirstError();
        }
        return additional != null ? additional : cipherError();
    }

    /**
     * ML-KEM as the first key exchange: IKE_SA_INIT could carry it, but Keel's rekeys
     * (CREATE_CHILD_SA) answer a key exchange as Diffie-Hellman; hybrid use is ke1_mlkemNNN.
     */
    private String kemFirstError() {
        for (KeyExchangeTransform t : keyExchanges) {
            if (t.family() == KeyExchangeTransform.Family.KEM) {
                return "'" + ProposalKeywords.keyword(t) + "' as the first key exchange method is not supported;"
                        + " use it as an additional one after a classical group, e.g. x25519-ke1_"
                        + ProposalKeywords.keyword(t);
            }
        }
        return null;
    }

    /**
     * Additional key exchanges for a CHILD SA take IKE_FOLLOWUP_KE exchanges (RFC 9370 §2.2.4),
     * which Keel does not run: refused at configuration rather than failing every rekey.
     */
    private String additionalError() {
        return hasAdditionalKeyExchanges()
                ? "additional key exchanges (ke1_ to ke7_) in " + protocol + " proposals need IKE_FOLLOWUP_KE"
                        + " (RFC 9370 section 2.2.4), which Keel does not support; use them in IKE proposals"
                : null;
    }

    private String ahError() {
        if (!encryption.isEmpty()) {
            return "AH proposals take no encryption algorithm";
        }
        if (!prfs.isEmpty()) {
            return "a PRF is negotiated for IKE only, not in AH proposals";
        }
        if (integrity.isEmpty()) {
            return "an integrity algorithm is mandatory in AH proposals";
        }
        return additionalError();
    }

    /** The encryption/integrity rules IKE and ESP share. */
    private String cipherError() {
        if (encryption.isEmpty()) {
            return "an encryption algorithm is mandatory in " + protocol + " proposals";
        }
        boolean anyAead = false;
        boolean anyNormal = false;
        boolean anyNull = false;
        for (EncryptionAlgorithm e : encryption) {
            anyAead |= e.isAead();
            anyNormal |= !e.isAead();
            anyNull |= e.transform() == EncryptionTransform.NULL;
        }
        if (anyAead && anyNormal) {
            // RFC 7296 §3.3: normal and combined-mode ciphers need two proposals, as only the
            // former come with integrity algorithms.
            return "AEAD and non-AEAD encryption algorithms cannot be mixed in one " + protocol
                    + " proposal; list them as separate proposals";
        }
        if (anyNormal && integrity.isEmpty()) {
            if (anyNull) {
                return "null encryption needs an integrity algorithm in " + protocol + " proposals";
            }
            return "an integrity algorithm is mandatory in " + protocol
                    + " proposals with non-AEAD encryption";
        }
        return null;
    }

    private String firstDuplicate() {
        Set<Object> seen = new HashSet<>();
        for (List<?> list : List.of(encryption, integrity, prfs, keyExchanges, esns)) {
            for (Object o : list) {
                if (!seen.add(o)) {
                    return o instanceof Transform t ? ProposalKeywords.keyword(t) : o.toString();
                }
            }
        }
        for (int n = 1; n <= additionalKeyExchanges.size(); n++) {
            Set<KeyExchangeTransform> inType = new HashSet<>();
            for (KeyExchangeTransform t : additionalKeyExchanges.get(n - 1)) {
                if (!inType.add(t)) {
                    return ProposalKeywords.additionalKeyword(n, t);
                }
            }
        }
        return null;
    }

    /**
     * strongSwan syntax with canonical keywords, types in the order encryption, integrity, PRF,
     * key exchange, additional key exchanges 1-7, ESN and each type in preference order, e.g.
     * {@code aes128-sha256-modp2048} or {@code aes256gcm16-prfsha384-x25519-ke1_mlkem768}.
     * {@link #parse} reads it back to an equal proposal (numbered 0).
     */
    @Override
    public String toString() {
        StringJoiner joiner = new StringJoiner("-");
        for (EncryptionAlgorithm e : encryption) {
            joiner.add(ProposalKeywords.keyword(e));
        }
        for (List<? extends Transform> list : List.of(integrity, prfs, keyExchanges)) {
            for (Transform t : list) {
                joiner.add(ProposalKeywords.keyword(t));
            }
        }
        for (int n = 1; n <= additionalKeyExchanges.size(); n++) {
            for (KeyExchangeTransform t : additionalKeyExchanges.get(n - 1)) {
                joiner.add(ProposalKeywords.additionalKeyword(n, t));
            }
        }
        for (EsnTransform t : esns) {
            joiner.add(ProposalKeywords.keyword(t));
        }
        return joiner.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Proposal p
                && protocol == p.protocol
                && number == p.number
                && encryption.equals(p.encryption)
                && integrity.equals(p.integrity)
                && prfs.equals(p.prfs)
                && keyExchanges.equals(p.keyExchanges)
                && additionalKeyExchanges.equals(p.additionalKeyExchanges)
                && esns.equals(p.esns);
    }

    @Override
    public int hashCode() {
        return Objects.hash(protocol, number, encryption, integrity, prfs, keyExchanges, additionalKeyExchanges, esns);
    }

    private static void checkNumber(int number) {
        // One octet on the wire (RFC 7296 §3.3.1).
        if (number < 0 || number > 255) {
            throw new IllegalArgumentException("proposal number must be 0-255, got " + number);
        }
    }

    /** Collects transforms in order; appending the same transform twice is kept (and invalid). */
    public static final class Builder {
        private final Protocol protocol;
        private int number;
        private final List<EncryptionAlgorithm> encryption = new ArrayList<>();
        private final List<IntegrityTransform> integrity = new ArrayList<>();
        private final List<PrfTransform> prfs = new ArrayList<>();
        private final List<KeyExchangeTransform> keyExchanges = new ArrayList<>();
        private final List<List<KeyExchangeTransform>> additionalKeyExchanges = noAdditional().stream()
                .map(l -> (List<KeyExchangeTransform>) new ArrayList<KeyExchangeTransform>()).toList();
        private final List<EsnTransform> esns = new ArrayList<>();

        private Builder(Protocol protocol) {
            this.protocol = Objects.requireNonNull(protocol, "protocol");
        }

        /** Sets the Proposal Num, 0-255. */
        public Builder number(int value) {
            checkNumber(value);
            this.number = value;
            return this;
        }

        /** Appends an encryption transform with its key length in bits (0 for fixed-key ciphers). */
        public Builder encryption(EncryptionTransform transform, int keyBits) {
            return encryption(new EncryptionAlgorithm(transform, keyBits));
        }

        /** Appends a fixed-key encryption transform (ChaCha20-Poly1305, NULL). */
        public Builder encryption(EncryptionTransform transform) {
            return encryption(EncryptionAlgorithm.of(transform));
        }

        /** Appends an encryption transform with its key length. */
        public Builder encryption(EncryptionAlgorithm algorithm) {
            encryption.add(Objects.requireNonNull(algorithm, "algorithm"));
            return this;
        }

        /**
         * Appends an integrity transform.
         *
         * @throws IllegalArgumentException for {@link IntegrityTransform#NONE}: leave integrity
         *         out instead
         */
        public Builder integrity(IntegrityTransform transform) {
            Objects.requireNonNull(transform, "transform");
            if (transform == IntegrityTransform.NONE) {
                throw new IllegalArgumentException(
                        "integrity NONE is not held in a proposal; offer no integrity transform instead");
            }
            integrity.add(transform);
            return this;
        }

        /** Appends a pseudorandom function. */
        public Builder prf(PrfTransform transform) {
            prfs.add(Objects.requireNonNull(transform, "transform"));
            return this;
        }

        /** Appends a key exchange method; {@link KeyExchangeTransform#NONE} offers "no PFS". */
        public Builder keyExchange(KeyExchangeTransform transform) {
            keyExchanges.add(Objects.requireNonNull(transform, "transform"));
            return this;
        }

        /**
         * Appends a key exchange method to Additional Key Exchange {@code n} (ADDKE1-7, RFC 9370);
         * {@link KeyExchangeTransform#NONE} makes that additional exchange optional.
         */
        public Builder additionalKeyExchange(int n, KeyExchangeTransform transform) {
            TransformType.additionalKeyExchange(n);
            additionalKeyExchanges.get(n - 1).add(Objects.requireNonNull(transform, "transform"));
            return this;
        }

        /** Appends an ESN choice. */
        public Builder esn(EsnTransform transform) {
            esns.add(Objects.requireNonNull(transform, "transform"));
            return this;
        }

        /**
         * Appends any transform, dispatching on its type; for a codec reading Transform
         * substructures in wire order. {@code keyBits} is the Key Length attribute, 0 if absent.
         *
         * @throws IllegalArgumentException when the key length does not fit the transform, or
         *         for integrity NONE
         */
        public Builder add(Transform transform, int keyBits) {
            Objects.requireNonNull(transform, "transform");
            if (!(transform instanceof EncryptionTransform) && keyBits != 0) {
                throw new IllegalArgumentException(transform.ianaName() + " takes no key length");
            }
            return switch (transform) {
                case EncryptionTransform e -> encryption(e, keyBits);
                case IntegrityTransform i -> integrity(i);
                case PrfTransform p -> prf(p);
                case KeyExchangeTransform k -> keyExchange(k);
                case EsnTransform s -> esn(s);
            };
        }

        /** The proposal; structural checks only, see {@link Proposal#validationError()}. */
        public Proposal build() {
            return new Proposal(protocol, number, encryption, integrity, prfs, keyExchanges, additionalKeyExchanges,
                    esns);
        }
    }
}
