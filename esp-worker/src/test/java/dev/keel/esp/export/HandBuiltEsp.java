package dev.keel.esp.export;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.esp.wire.PcapWriter;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Test-only ESP packets built step by step with javax.crypto, independent of Keel's data
 * plane, so that tshark can be shown to agree with an exported {@code esp_sa} line: tunnel
 * mode, AES-GCM (RFC 4106) or AES-CBC (RFC 3602) with an HMAC (RFC 2404 / RFC 4868), 32-bit
 * sequence numbers.
 */
final class HandBuiltEsp {

    private HandBuiltEsp() {
    }

    /** An IPv4 ICMP echo request from 10.0.0.1 to 10.0.0.2 carrying {@code data}. */
    static byte[] innerPing(byte[] data) {
        ByteBuffer icmp = ByteBuffer.allocate(8 + data.length);
        icmp.put((byte) 8).put((byte) 0).putShort((short) 0).putShort((short) 0x4b4c).putShort((short) 1).put(data);
        byte[] b = icmp.array();
        int sum = PcapWriter.internetChecksum(b, 0, b.length);
        b[2] = (byte) (sum >>> 8);
        b[3] = (byte) sum;
        return PcapWriter.ipv4((Inet4Address) address("10.0.0.1"), (Inet4Address) address("10.0.0.2"), 1, b);
    }

    /**
     * The ESP packet (header, IV, ciphertext, ICV) carrying {@code inner} with next header 4
     * (IPv4) on the SA {@code sa}.
     */
    static byte[] encapsulate(EspSaKeys sa, int seq, byte[] inner) throws GeneralSecurityException {
        EncryptionTransform e = sa.encryption();
        // RFC 4303 §2.4: pad so that payload + pad + 2 reaches the block size; pad bytes are 1, 2, 3, ...
        int block = e.blockSize();
        int padLen = Math.floorMod(-(inner.length + 2), block);
        byte[] plain = new byte[inner.length + padLen + 2];
        System.arraycopy(inner, 0, plain, 0, inner.length);
        for (int i = 0; i < padLen; i++) {
            plain[inner.length + i] = (byte) (i + 1);
        }
        plain[plain.length - 2] = (byte) padLen;
        plain[plain.length - 1] = 4;
        byte[] header = ByteBuffer.allocate(8).putInt(sa.spi()).putInt(seq).array();
        if (e.isAead()) {
            return gcm(sa, header, seq, plain);
        }
        return cbcHmac(sa, header, plain);
    }

    private static byte[] gcm(EspSaKeys sa, byte[] header, int seq, byte[] plain) throws GeneralSecurityException {
        EncryptionTransform e = sa.encryption();
        byte[] km = sa.encryptionKey();
        byte[] key = Arrays.copyOf(km, km.length - 4);
        byte[] salt = Arrays.copyOfRange(km, km.length - 4, km.length);
        // RFC 4106 §3.1: the 8-byte IV is the sender's choice; the sequence number is the usual one.
        byte[] iv = ByteBuffer.allocate(8).putLong(seq & 0xffffffffL).array();
        byte[] nonce = ByteBuffer.allocate(12).put(salt).put(iv).array();
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        // The JDK computes only 96..128-bit tags; a shorter ICV is the full tag's leading bytes.
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
        c.updateAAD(header); // RFC 4106 §5: AAD = SPI || 32-bit sequence number
        byte[] ctAndTag = c.doFinal(plain);
        int icv = e.icvLength();
        return ByteBuffer.allocate(8 + 8 + plain.length + icv)
                .put(header).put(iv).put(ctAndTag, 0, plain.length + icv).array();
    }

    private static byte[] cbcHmac(EspSaKeys sa, byte[] header, byte[] plain) throws GeneralSecurityException {
        byte[] iv = new byte[16];
        for (int i = 0; i < iv.length; i++) {
            iv[i] = (byte) (0xa0 + i);
        }
        byte[] body;
        if (sa.encryption() == EncryptionTransform.NULL) {
            body = ByteBuffer.allocate(8 + plain.length).put(header).put(plain).array();
        } else {
            Cipher c = Cipher.getInstance("AES/CBC/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(sa.encryptionKey(), "AES"), new IvParameterSpec(iv));
            byte[] ct = c.doFinal(plain);
            body = ByteBuffer.allocate(8 + 16 + ct.length).put(header).put(iv).put(ct).array();
        }
        IntegrityTransform i = sa.integrity();
        Mac mac = Mac.getInstance(i.jcaName());
        mac.init(new SecretKeySpec(sa.integrityKey(), i.jcaName()));
        byte[] full = mac.doFinal(body);
        return ByteBuffer.allocate(body.length + i.icvLength()).put(body).put(full, 0, i.icvLength()).array();
    }

    /** Flips the lowest bit of the first ciphertext byte (right after SPI, sequence number and IV). */
    static byte[] flipCiphertextBit(EspSaKeys sa, byte[] esp) {
        byte[] copy = esp.clone();
        int iv = sa.encryption() == EncryptionTransform.NULL ? 0 : sa.encryption().ivLength();
        copy[8 + iv] ^= 1;
        return copy;
    }

    static InetAddress address(String literal) {
        try {
            return InetAddress.ofLiteral(literal);
        } catch (IllegalArgumentException e) {
            throw new AssertionError(e);
        }
    }
}
