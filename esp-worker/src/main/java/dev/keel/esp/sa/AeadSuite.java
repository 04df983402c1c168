package dev.keel.esp.sa;

import dev.keel.core.crypto.AeadCipher;
import dev.keel.core.packet.BigEndian;

/**
 * ESP with a combined-mode cipher: AES-GCM (RFC 4106) or ChaCha20-Poly1305 (RFC 7634). The
 * explicit IV is the 64-bit sequence number, unique per SA because sequence numbers never
 * repeat (RFC 4106 §3.1 allows a counter).
 */
final class AeadSuite implements EspCipherSuite {

    private final AeadCipher cipher;
    private final byte[] aad = new byte[12];

    AeadSuite(AeadCipher cipher) {
        this.cipher = cipher;
    }

    @Override
    public int ivLength() {
        return cipher.ivLength();
    }

    @Override
    public int icvLength() {
        return cipher.icvLength();
    }

    @Override
    public int alignment() {
        return 4;
    }

    @Override
    public void seal(byte[] buf, int esp, int ptLen, long seq, boolean esn) {
        int iv = esp + 8;
        BigEndian.putLong(buf, iv, seq);
        cipher.seal(aad, buildAad(buf, esp, seq, esn), buf, iv, buf, iv + 8, ptLen);
    }

    @Override
    public int open(byte[] buf, int esp, int len, long seq, boolean esn) {
        int ctLen = len - 16;
        if (ctLen < cipher.icvLength() + 2) {
            return -1;
        }
        return cipher.open(aad, buildAad(buf, esp, seq, esn), buf, esp + 8, buf, esp + 16, ctLen);
    }

    /** RFC 4106 §5 / RFC 7634 §2.1: SPI || seq, or SPI || seq-high || seq-low with ESN. */
    private int buildAad(byte[] buf, int esp, long seq, boolean esn) {
        System.arraycopy(buf, esp, aad, 0, 4);
        if (esn) {
            BigEndian.putLong(aad, 4, seq);
            return 12;
        }
        System.arraycopy(buf, esp + 4, aad, 4, 4);
        return 8;
    }

    @Override
    public void close() {
        cipher.close();
    }
}
