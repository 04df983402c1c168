package dev.keel.ike.crypto;

import java.io.IOException;
import java.security.PublicKey;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.security.spec.AlgorithmParameterSpec;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Arrays;
import java.util.Collection;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;

/**
 * Signature algorithms for Digital Signature authentication (RFC 7427, auth method 14; Ed25519
 * per RFC 8420), each with its ASN.1 AlgorithmIdentifier and the SIGNATURE_HASH_ALGORITHMS value
 * (RFC 7427 §4) that announces it.
 */
public enum SignatureScheme {
    RSA_PKCS1_SHA256(HashAlgorithm.SHA2_256, "SHA256withRSA", PKCSObjectIdentifiers.sha256WithRSAEncryption),
    RSA_PKCS1_SHA384(HashAlgorithm.SHA2_384, "SHA384withRSA", PKCSObjectIdentifiers.sha384WithRSAEncryption),
    RSA_PKCS1_SHA512(HashAlgorithm.SHA2_512, "SHA512withRSA", PKCSObjectIdentifiers.sha512WithRSAEncryption),
    RSA_PSS_SHA256(HashAlgorithm.SHA2_256, "RSASSA-PSS", PKCSObjectIdentifiers.id_RSASSA_PSS),
    RSA_PSS_SHA384(HashAlgorithm.SHA2_384, "RSASSA-PSS", PKCSObjectIdentifiers.id_RSASSA_PSS),
    RSA_PSS_SHA512(HashAlgorithm.SHA2_512, "RSASSA-PSS", PKCSObjectIdentifiers.id_RSASSA_PSS),
    ECDSA_SHA256(HashAlgorithm.SHA2_256, "SHA256withECDSA", X9ObjectIdentifiers.ecdsa_with_SHA256),
    ECDSA_SHA384(HashAlgorithm.SHA2_384, "SHA384withECDSA", X9ObjectIdentifiers.ecdsa_with_SHA384),
    ECDSA_SHA512(HashAlgorithm.SHA2_512, "SHA512withECDSA", X9ObjectIdentifiers.ecdsa_with_SHA512),
    ED25519(HashAlgorithm.IDENTITY, "Ed25519", EdECObjectIdentifiers.id_Ed25519);

    /** SIGNATURE_HASH_ALGORITHMS values (RFC 7427 §4, IANA "Hash Algorithm Identifiers"). */
    public enum HashAlgorithm {
        SHA1(1),
        SHA2_256(2),
        SHA2_384(3),
        SHA2_512(4),
        IDENTITY(5);

        private final int id;

        HashAlgorithm(int id) {
            this.id = id;
        }

        public int id() {
            return id;
        }

        /** The value with this number, or null. */
        public static HashAlgorithm byId(int id) {
            for (HashAlgorithm h : values()) {
                if (h.id == id) {
                    return h;
                }
            }
            return null;
        }
    }

    private final HashAlgorithm hash;
    private final String jcaName;
    private final ASN1ObjectIdentifier oid;

    SignatureScheme(HashAlgorithm hash, String jcaName, ASN1ObjectIdentifier oid) {
        this.hash = hash;
        this.jcaName = jcaName;
        this.oid = oid;
    }

    public HashAlgorithm hash() {
        return hash;
    }

    /** The JCA Signature algorithm name. */
    public String jcaName() {
        return jcaName;
    }

    /** PSS parameters for the RSASSA-PSS schemes (MGF1 with the same hash, salt = hash length), else null. */
    public AlgorithmParameterSpec parameterSpec() {
        return switch (this) {
            case RSA_PSS_SHA256 -> new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1);
            case RSA_PSS_SHA384 -> new PSSParameterSpec("SHA-384", "MGF1", MGF1ParameterSpec.SHA384, 48, 1);
            case RSA_PSS_SHA512 -> new PSSParameterSpec("SHA-512", "MGF1", MGF1ParameterSpec.SHA512, 64, 1);
            default -> null;
        };
    }

    /** The DER AlgorithmIdentifier of this scheme (RFC 7427 Appendix A, RFC 8420 §2). */
    public AlgorithmIdentifier algorithmIdentifier() {
        return switch (this) {
            // RFC 4055 §5: the RSA PKCS#1 v1.5 identifiers carry an explicit NULL.
            case RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512 -> new AlgorithmIdentifier(oid, DERNull.INSTANCE);
            case RSA_PSS_SHA256 -> pss(NISTObjectIdentifiers.id_sha256, 32);
            case RSA_PSS_SHA384 -> pss(NISTObjectIdentifiers.id_sha384, 48);
            case RSA_PSS_SHA512 -> pss(NISTObjectIdentifiers.id_sha512, 64);
            default -> new AlgorithmIdentifier(oid); // ECDSA, Ed25519: parameters absent
        };
    }

    private static AlgorithmIdentifier pss(ASN1ObjectIdentifier hashOid, int saltLength) {
        AlgorithmIdentifier h = new AlgorithmIdentifier(hashOid, DERNull.INSTANCE);
        RSASSAPSSparams params = new RSASSAPSSparams(h,
                new AlgorithmIdentifier(PKCSObjectIdentifiers.id_mgf1, h),
                new org.bouncycastle.asn1.ASN1Integer(saltLength),
                RSASSAPSSparams.DEFAULT_TRAILER_FIELD);
        return new AlgorithmIdentifier(PKCSObjectIdentifiers.id_RSASSA_PSS, params);
    }

    /** The AUTH data prefix: one length octet, then the DER AlgorithmIdentifier (RFC 7427 §3). */
    public byte[] authPrefix() {
        try {
            byte[] der = algorithmIdentifier().getEncoded(ASN1Encoding.DER);
            byte[] out = new byte[1 + der.length];
            out[0] = (byte) der.length;
            System.arraycopy(der, 0, out, 1, der.length);
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("DER encoding failed", e);
        }
    }

    /** The scheme whose AlgorithmIdentifier is {@code der}, or null when Keel does not take it. */
    public static SignatureScheme fromAlgorithmIdentifier(byte[] der) {
        AlgorithmIdentifier id;
        try {
            id = AlgorithmIdentifier.getInstance(der);
            if (!Arrays.equals(id.getEncoded(ASN1Encoding.DER), der)) {
                return null; // trailing bytes or non-DER
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        for (SignatureScheme s : values()) {
            AlgorithmIdentifier mine = s.algorithmIdentifier();
            if (!mine.getAlgorithm().equals(id.getAlgorithm())) {
                continue;
            }
            if (s.oid.equals(PKCSObjectIdentifiers.id_RSASSA_PSS)) {
                if (samePss(mine, id)) {
                    return s;
                }
            } else if (s.name().startsWith("RSA_PKCS1")) {
                return s; // NULL or absent parameters are both seen in the wild
            } else if (id.getParameters() == null) {
                return s;
            }
        }
        return null;
    }

    private static boolean samePss(AlgorithmIdentifier mine, AlgorithmIdentifier theirs) {
        try {
            RSASSAPSSparams a = RSASSAPSSparams.getInstance(mine.getParameters());
            RSASSAPSSparams b = RSASSAPSSparams.getInstance(theirs.getParameters());
            return a.getHashAlgorithm().getAlgorithm().equals(b.getHashAlgorithm().getAlgorithm())
                    && a.getMaskGenAlgorithm().getAlgorithm().equals(b.getMaskGenAlgorithm().getAlgorithm())
                    && AlgorithmIdentifier.getInstance(a.getMaskGenAlgorithm().getParameters()).getAlgorithm()
                            .equals(AlgorithmIdentifier.getInstance(b.getMaskGenAlgorithm().getParameters()).getAlgorithm())
                    && a.getSaltLength().equals(b.getSaltLength())
                    && a.getTrailerField().equals(b.getTrailerField());
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * The scheme to sign with for {@code key}, given the hashes the peer announced in
     * SIGNATURE_HASH_ALGORITHMS: the strongest SHA-2 hash (or identity for Ed25519) the peer
     * takes; PKCS#1 v1.5 for RSA unless {@code preferPss}. Null when nothing fits (then RFC 7427
     * §4 leaves only the old, per-key-type AUTH methods, which Keel does not use).
     */
    public static SignatureScheme choose(PublicKey key, Collection<HashAlgorithm> peerHashes, boolean preferPss) {
        if ("Ed25519".equals(key.getAlgorithm()) || "EdDSA".equals(key.getAlgorithm())) {
            return peerHashes.contains(HashAlgorithm.IDENTITY) ? ED25519 : null;
        }
        SignatureScheme[] order;
        if (key instanceof ECKey) {
            order = new SignatureScheme[] {ECDSA_SHA512, ECDSA_SHA384, ECDSA_SHA256};
            // Match the hash to the curve size where the peer allows it (RFC 5656-style pairing).
            int bits = ((ECKey) key).getParams().getOrder().bitLength();
            SignatureScheme natural = bits > 384 ? ECDSA_SHA512 : bits > 256 ? ECDSA_SHA384 : ECDSA_SHA256;
            if (peerHashes.contains(natural.hash)) {
                return natural;
            }
        } else if (key instanceof RSAKey) {
            order = preferPss
                    ? new SignatureScheme[] {RSA_PSS_SHA256, RSA_PSS_SHA384, RSA_PSS_SHA512}
                    : new SignatureScheme[] {RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512};
        } else {
            return null;
        }
        for (SignatureScheme s : order) {
            if (peerHashes.contains(s.hash)) {
                return s;
            }
        }
        return null;
    }

    /** Whether this scheme can be used with {@code key}. */
    public boolean fits(PublicKey key) {
        return switch (this) {
            case ED25519 -> "Ed25519".equals(key.getAlgorithm()) || "EdDSA".equals(key.getAlgorithm());
            case ECDSA_SHA256, ECDSA_SHA384, ECDSA_SHA512 -> key instanceof ECKey;
            default -> key instanceof RSAKey;
        };
    }
}
