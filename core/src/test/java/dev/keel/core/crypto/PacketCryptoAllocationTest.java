package dev.keel.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Bytes allocated per packet (1400-byte payload) in steady state, measured with
 * {@code com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes} over 10,000 calls after
 * warm-up. Not a benchmark (those live in bench/, under JMH): the bounds are generous and only
 * catch a regression such as a per-packet copy of the payload.
 */
class PacketCryptoAllocationTest {

    private static final int LEN = 1400;
    /** 1400 padded to the AES block, as ESP pads it. */
    private static final int CBC_LEN = 1408;
    private static final int WARMUP = 30_000;
    private static final int CALLS = 10_000;

    private static final com.sun.management.ThreadMXBean THREADS =
            ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t ? t : null;

    private interface Op {
        void run(int i);
    }

    private static long bytesPerCall(String name, Op op) {
        Assumptions.assumeTrue(THREADS != null && THREADS.isThreadAllocatedMemorySupported());
        THREADS.setThreadAllocatedMemoryEnabled(true);
        for (int i = 0; i < WARMUP; i++) {
            op.run(i);
        }
        long before = THREADS.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < CALLS; i++) {
            op.run(WARMUP + i);
        }
        long perCall = (THREADS.getCurrentThreadAllocatedBytes() - before) / CALLS;
        System.out.printf("[alloc] %-40s %6d bytes/call%n", name, perCall);
        return perCall;
    }

    private static long[] aead(EncryptionTransform t, int keyLength, AeadEngine engine) {
        byte[] aad = new byte[8];
        byte[] iv = new byte[8];
        byte[] buf = new byte[LEN + 16];
        try (AeadCipher c = Engines.aead(engine, t, new byte[keyLength + 4])) {
            String name = t.ianaName() + "/" + keyLength * 8 + " " + engine;
            long seal = bytesPerCall(name + " seal", i -> {
                BigEndian.putInt(iv, 4, i + 1);
                c.seal(aad, 8, iv, 0, buf, 0, LEN);
            });
            // open: a fresh copy of one sealed packet each time
            byte[] sealed = new byte[LEN + c.icvLength()];
            BigEndian.putInt(iv, 4, Integer.MAX_VALUE);
            c.seal(aad, 8, iv, 0, sealed, 0, LEN);
            long open = bytesPerCall(name + " open", i -> {
                System.arraycopy(sealed, 0, buf, 0, sealed.length);
                if (c.open(aad, 8, iv, 0, buf, 0, sealed.length) != LEN) {
                    throw new AssertionError("open failed");
                }
            });
            return new long[] {seal, open};
        }
    }

    /** OpenSSL: one keyed EVP context, an off-heap scratch buffer, long-address downcalls: nothing per packet. */
    @Test
    void openSslAeadsAreAllocationFree() {
        for (EncryptionTransform t : new EncryptionTransform[] {EncryptionTransform.AES_GCM_16,
                EncryptionTransform.AES_GCM_12, EncryptionTransform.AES_GCM_8, EncryptionTransform.CHACHA20_POLY1305}) {
            for (int keyLength : t == EncryptionTransform.CHACHA20_POLY1305 ? new int[] {32} : new int[] {16, 32}) {
                long[] r = aead(t, keyLength, AeadEngine.OPENSSL);
                assertThat(r[0]).as(t + " seal").isLessThan(16);
                assertThat(r[1]).as(t + " open").isLessThan(16);
            }
        }
    }

    @Test
    void jcaAesGcm16() {
        for (int keyLength : new int[] {16, 32}) {
            long[] r = aead(EncryptionTransform.AES_GCM_16, keyLength, AeadEngine.JCA);
            // SunJCE: GCMParameterSpec + IV/key clones + a GCM engine per Cipher.init (see report).
            assertThat(r[0]).isLessThan(2048);
            assertThat(r[1]).isLessThan(2048);
        }
    }

    @Test
    void jcaAesGcm12And8() {
        long[] r12 = aead(EncryptionTransform.AES_GCM_12, 16, AeadEngine.JCA);
        assertThat(r12[0]).isLessThan(2048);
        assertThat(r12[1]).isLessThan(2048);
        long[] r8 = aead(EncryptionTransform.AES_GCM_8, 16, AeadEngine.JCA);  // Bouncy Castle path
        assertThat(r8[0]).isLessThan(4096);
        assertThat(r8[1]).isLessThan(4096);
    }

    @Test
    void jcaChaCha20Poly1305() {
        long[] r = aead(EncryptionTransform.CHACHA20_POLY1305, 32, AeadEngine.JCA);
        // SunJCE: a 1 KiB key-stream block for the Poly1305 key and a Poly1305 per Cipher.init.
        assertThat(r[0]).isLessThan(4096);
        assertThat(r[1]).isLessThan(4096);
    }

    @Test
    void aesCbcAndHmacAreAllocationFree() {
        byte[] iv = new byte[16];
        byte[] buf = new byte[CBC_LEN];
        try (NormalCipher c = PacketCiphers.normal(EncryptionTransform.AES_CBC, new byte[16])) {
            assertThat(bytesPerCall("ENCR_AES_CBC/128 encrypt (1408 B)", i -> {
                iv[0] = (byte) i;
                c.encrypt(iv, 0, buf, 0, CBC_LEN);
            })).isLessThan(16);
            assertThat(bytesPerCall("ENCR_AES_CBC/128 decrypt (1408 B)", i -> c.decrypt(iv, 0, buf, 0, CBC_LEN)))
                    .isLessThan(16);
        }
        byte[] trailer = new byte[4];
        for (IntegrityTransform t : new IntegrityTransform[] {IntegrityTransform.HMAC_SHA1_96,
                IntegrityTransform.HMAC_SHA2_256_128, IntegrityTransform.HMAC_SHA2_512_256}) {
            byte[] icv = new byte[t.icvLength()];
            try (IntegrityMac mac = PacketCiphers.integrity(t, new byte[t.keyLength()])) {
                assertThat(bytesPerCall(t.ianaName() + " compute",
                        i -> mac.compute(buf, 0, LEN, trailer, 4, icv, 0))).isLessThan(16);
                assertThat(bytesPerCall(t.ianaName() + " verify", i -> {
                    if (!mac.verify(buf, 0, LEN, trailer, 4, icv, 0)) {
                        throw new AssertionError("verify failed");
                    }
                })).isLessThan(16);
            }
        }
        Arrays.fill(buf, (byte) 0);
    }
}
