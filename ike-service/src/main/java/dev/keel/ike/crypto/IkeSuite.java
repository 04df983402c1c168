package dev.keel.ike.crypto;

import dev.keel.core.proposal.EncryptionAlgorithm;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import java.util.Objects;

/**
 * The algorithms of one negotiated IKE SA (or, with {@code prf} and {@code keyExchange} unused,
 * one CHILD SA): what key derivation and the SK ciphers need.
 *
 * @param encryption  the cipher with its key length
 * @param integrity   the integrity transform, {@link IntegrityTransform#NONE} for an AEAD cipher
 * @param prf         the PRF (null for a CHILD SA suite)
 * @param keyExchange the group (NONE when there is none, e.g. a CHILD SA without PFS)
 */
public record IkeSuite(EncryptionAlgorithm encryption, IntegrityTransform integrity, PrfTransform prf,
        KeyExchangeTransform keyExchange) {

    /** Rejects AEAD with integrity and normal mode without it. */
    public IkeSuite {
        Objects.requireNonNull(encryption, "encryption");
        integrity = integrity == null ? IntegrityTransform.NONE : integrity;
        keyExchange = keyExchange == null ? KeyExchangeTransform.NONE : keyExchange;
        if (encryption.isAead() && integrity != IntegrityTransform.NONE) {
            throw new IllegalArgumentException(encryption + " is combined-mode and takes no integrity transform");
        }
        if (!encryption.isAead() && integrity == IntegrityTransform.NONE) {
            throw new IllegalArgumentException(encryption + " needs an integrity transform");
        }
    }

    /**
     * The first transform of each type of a negotiated (single-choice) proposal, taken as it is
     * on the wire: for IKE the PRF must be there (call {@link Proposal#effective()} first on a
     * configured strongSwan-style proposal that leaves it implied).
     */
    public static IkeSuite from(Proposal negotiated) {
        Proposal p = negotiated;
        if (p.protocol() == Protocol.AH) {
            // AH: integrity only, so KEYMAT holds integrity keys alone (RFC 7296 §2.17).
            if (p.integrityAlgorithms().isEmpty()) {
                throw new IllegalArgumentException("AH proposal has no integrity algorithm");
            }
            return new IkeSuite(EncryptionAlgorithm.of(EncryptionTransform.NULL), p.integrityAlgorithms().getFirst(), null,
                    p.keyExchangeMethods().isEmpty() ? KeyExchangeTransform.NONE : p.keyExchangeMethods().getFirst());
        }
        if (p.encryptionAlgorithms().isEmpty()) {
            throw new IllegalArgumentException("proposal has no encryption algorithm");
        }
        EncryptionAlgorithm enc = p.encryptionAlgorithms().getFirst();
        IntegrityTransform integ = enc.isAead() || p.integrityAlgorithms().isEmpty()
                ? IntegrityTransform.NONE : p.integrityAlgorithms().getFirst();
        PrfTransform prf = p.prfs().isEmpty() ? null : p.prfs().getFirst();
        if (p.protocol() == Protocol.IKE && prf == null) {
            throw new IllegalArgumentException("IKE proposal has no PRF");
        }
        KeyExchangeTransform ke = p.keyExchangeMethods().isEmpty()
                ? KeyExchangeTransform.NONE : p.keyExchangeMethods().getFirst();
        return new IkeSuite(enc, integ, prf, ke);
    }

    /**
     * Bytes of encryption keying material per direction: the cipher key plus, for AEAD, the
     * 4-byte salt (RFC 5282 §7.1, RFC 7634 §3, RFC 4106 §8.1).
     */
    public int encryptionKeyLength() {
        return encryption.keyBytes() + encryption.transform().saltLength();
    }

    /** Bytes of integrity key per direction, 0 for AEAD (RFC 4868 §2.1.1: the hash length). */
    public int integrityKeyLength() {
        return integrity == IntegrityTransform.NONE ? 0 : integrity.keyLength();
    }
}
