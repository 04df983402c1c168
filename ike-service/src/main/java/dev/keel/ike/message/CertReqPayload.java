package dev.keel.ike.message;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Certificate Request payload (RFC 7296 §3.7): an encoding and, for X.509, the concatenated
 * 20-byte SHA-1 hashes of trusted CAs' SubjectPublicKeyInfo.
 */
public record CertReqPayload(int encoding, byte[] authorities) implements IkePayload {
    /** Length of one certification authority hash. */
    public static final int HASH_LENGTH = 20;

    /** A request for X.509 certificates issued by the CAs with these SPKI SHA-1 hashes. */
    public static CertReqPayload x509(List<byte[]> spkiHashes) {
        WireWriter w = new WireWriter();
        for (byte[] h : spkiHashes) {
            if (h.length != HASH_LENGTH) {
                throw new IllegalArgumentException("a CA hash is 20 bytes, not " + h.length);
            }
            w.bytes(h);
        }
        return new CertReqPayload(CertEncoding.X509_SIGNATURE.value(), w.toByteArray());
    }

    /** Parses a CERTREQ body; for X.509 the authority field must be whole 20-byte hashes. */
    public static CertReqPayload decode(byte[] body) throws PayloadException {
        WireReader r = new WireReader(body);
        int encoding = r.u8("CERTREQ encoding");
        byte[] authorities = r.rest();
        if (encoding == CertEncoding.X509_SIGNATURE.value() && authorities.length % HASH_LENGTH != 0) {
            throw new PayloadException("CERTREQ authority field of " + authorities.length
                    + " bytes is not a whole number of 20-byte hashes");
        }
        return new CertReqPayload(encoding, authorities);
    }

    /** The authority field split into 20-byte hashes (any tail shorter than 20 is left out). */
    public List<byte[]> authorityHashes() {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i + HASH_LENGTH <= authorities.length; i += HASH_LENGTH) {
            out.add(Arrays.copyOfRange(authorities, i, i + HASH_LENGTH));
        }
        return out;
    }

    @Override
    public int type() {
        return PayloadType.CERTREQ.value();
    }

    @Override
    public byte[] encodeBody() {
        return new WireWriter().u8(encoding).bytes(authorities).toByteArray();
    }
}
