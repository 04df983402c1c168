package dev.keel.ike.crypto;

import java.util.Arrays;

/** IKEv2 key derivation: RFC 7296 §2.14 (new IKE SA), §2.18 (IKE SA rekey), §2.17 (CHILD SA). */
public final class KeyDerivation {

    private KeyDerivation() {
    }

    /**
     * Keys of a new IKE SA: SKEYSEED = prf(Ni | Nr, g^ir); the seven keys are
     * prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) in the order SK_d, SK_ai, SK_ar, SK_ei, SK_er, SK_pi, SK_pr.
     *
     * @param suite the negotiated IKE suite (its PRF and key sizes)
     * @param spiI  the initiator's 8-byte SPI, {@code spiR} the responder's
     */
    public static IkeSaKeys ikeSa(IkeSuite suite, byte[] ni, byte[] nr, byte[] gir, byte[] spiI, byte[] spiR) {
        Prf prf = prfOf(suite);
        byte[] skeyseed = prf.compute(concat(ni, nr), gir);
        return expand(suite, prf, skeyseed, ni, nr, spiI, spiR);
    }

    /**
     * Keys of the IKE SA that replaces an old one (RFC 7296 §2.18):
     * SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with the old SA's PRF, then prf+ as in
     * §2.14 with the new suite's PRF, the new nonces and SPIs.
     *
     * @param oldPrf  the PRF of the SA being rekeyed
     * @param oldSkD  its SK_d
     */
    public static IkeSaKeys rekeyIkeSa(IkeSuite newSuite, dev.keel.core.transform.PrfTransform oldPrf,
            byte[] oldSkD, byte[] gir, byte[] ni, byte[] nr, byte[] spiI, byte[] spiR) {
        byte[] skeyseed = Prf.of(oldPrf).compute(oldSkD, gir, ni, nr);
        return expand(newSuite, prfOf(newSuite), skeyseed, ni, nr, spiI, spiR);
    }

    /**
     * The IKE SA keys after an additional key exchange in IKE_INTERMEDIATE (RFC 9370 §2.2.2):
     * SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr), then the seven keys from prf+ with the same
     * nonces and SPIs as IKE_SA_INIT's. The formula of an IKE SA rekey (§2.18) with the SA's own PRF.
     */
    public static IkeSaKeys additionalKeyExchange(IkeSuite suite, byte[] skD, byte[] sharedSecret, byte[] ni,
            byte[] nr, byte[] spiI, byte[] spiR) {
        return rekeyIkeSa(suite, suite.prf(), skD, sharedSecret, ni, nr, spiI, spiR);
    }

    /**
     * CHILD SA keys (RFC 7296 §2.17): KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), taken as
     * encryption key then integrity key for initiator-to-responder, then the same for
     * responder-to-initiator.
     *
     * @param ikePrf     the IKE SA's PRF
     * @param childSuite the CHILD SA's cipher and integrity (prf/key exchange ignored)
     * @param gir        the new shared secret of a CREATE_CHILD_SA with KE, or null
     */
    public static ChildSaKeys childSa(dev.keel.core.transform.PrfTransform ikePrf, byte[] skD, IkeSuite childSuite,
            byte[] gir, byte[] ni, byte[] nr) {
        int e = childSuite.encryptionKeyLength();
        int a = childSuite.integrityKeyLength();
        byte[] seed = gir == null ? concat(ni, nr) : concat(gir, ni, nr);
        byte[] keymat = Prf.of(ikePrf).plus(skD, seed, 2 * (e + a));
        try {
            int o = 0;
            byte[] ei = Arrays.copyOfRange(keymat, o, o += e);
            byte[] ai = Arrays.copyOfRange(keymat, o, o += a);
            byte[] er = Arrays.copyOfRange(keymat, o, o += e);
            byte[] ar = Arrays.copyOfRange(keymat, o, o + a);
            return new ChildSaKeys(ei, ai, er, ar);
        } finally {
            Arrays.fill(keymat, (byte) 0);
            Arrays.fill(seed, (byte) 0);
        }
    }

    private static IkeSaKeys expand(IkeSuite suite, Prf prf, byte[] skeyseed, byte[] ni, byte[] nr,
            byte[] spiI, byte[] spiR) {
        int d = prf.outputLength(); // RFC 7296 §2.14: SK_d, SK_pi, SK_pr have the PRF's key length
        int a = suite.integrityKeyLength();
        int e = suite.encryptionKeyLength();
        byte[] keymat = prf.plus(skeyseed, concat(ni, nr, spiI, spiR), 3 * d + 2 * a + 2 * e);
        try {
            int o = 0;
            byte[] skD = Arrays.copyOfRange(keymat, o, o += d);
            byte[] skAi = Arrays.copyOfRange(keymat, o, o += a);
            byte[] skAr = Arrays.copyOfRange(keymat, o, o += a);
            byte[] skEi = Arrays.copyOfRange(keymat, o, o += e);
            byte[] skEr = Arrays.copyOfRange(keymat, o, o += e);
            byte[] skPi = Arrays.copyOfRange(keymat, o, o += d);
            byte[] skPr = Arrays.copyOfRange(keymat, o, o + d);
            return new IkeSaKeys(skeyseed, skD, skAi, skAr, skEi, skEr, skPi, skPr);
        } finally {
            Arrays.fill(keymat, (byte) 0);
        }
    }

    private static Prf prfOf(IkeSuite suite) {
        if (suite.prf() == null) {
            throw new IllegalArgumentException("IKE suite without a PRF");
        }
        return Prf.of(suite.prf());
    }

    /** The parts one after the other. */
    public static byte[] concatenate(byte[]... parts) {
        return concat(parts);
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
