package dev.keel.core.crypto;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.keel.core.transform.EncryptionTransform;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * AES-GCM (RFC 4106, ICV 8, 12 or 16 bytes) and ChaCha20-Poly1305 (RFC 7634) on OpenSSL 3's EVP
 * interface, allocation-free per packet.
 *
 * <p>One {@code EVP_CIPHER_CTX} per instance is keyed once (AES key schedule and GHASH table, or
 * the ChaCha20 key, stay in it); a packet only sets the nonce ({@code salt || iv}, 12 bytes), feeds
 * the AAD and the data, and gets or sets the tag. SunJCE, by contrast, builds a new GCM or
 * Poly1305 engine on every {@code Cipher.init}, i.e. per packet (docs/benchmarks.md). The packet
 * array is passed to OpenSSL as a heap segment through critical downcalls, so nothing is copied;
 * every index is checked here before a downcall.
 *
 * <p>OpenSSL decrypts in place before {@code EVP_CipherFinal_ex} compares the tag, so a failed
 * {@link #open} zeroes {@code buf[off, off+len-icv)}: no plaintext of a forged packet is left.
 * The key is copied into native memory only for the keying call and zeroed right after;
 * {@code EVP_CIPHER_CTX_free} (on {@link #close}, or by a cleaner if an instance is dropped
 * unclosed) wipes OpenSSL's copy.
 */
final class OpenSslAead implements AeadCipher {

    private static final int SALT = 4;
    private static final int IV = 8;
    private static final int NONCE_OFFSET = 0;
    private static final int OUT_LEN_OFFSET = 16;
    private static final int STATE_SIZE = 32;
    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final Cleaner CLEANER = Cleaner.create();

    private final EncryptionTransform transform;
    private final int icvLength;
    private final int keyLength;
    private final String name;
    private final OpenSsl.Lib lib;
    private final MemorySegment ctx;
    /** {@code salt || iv} at 0, the {@code int *outl} of update and final at 16. */
    private final MemorySegment state;
    private final MemorySegment nonce;
    private final MemorySegment outLen;
    private final Cleaner.Cleanable cleanable;
    private long lastSealIv;
    private boolean sealedOnce;
    private boolean closed;

    /** What must be released once, by {@link #close} or by the cleaner: holds no reference to the cipher. */
    private record Native(OpenSsl.Lib lib, Arena arena, MemorySegment ctx, MemorySegment state) implements Runnable {
        @Override
        public void run() {
            state.fill((byte) 0);
            lib.ctxFree(ctx);  // EVP_CIPHER_CTX_free cleanses the key schedule
            arena.close();
        }
    }

    /**
     * {@code keyAndSalt} is the cipher key followed by the 4-byte salt (RFC 4106 §8.1, RFC 7634 §2);
     * the caller has checked the lengths.
     */
    OpenSslAead(EncryptionTransform transform, byte[] keyAndSalt) {
        this.transform = transform;
        this.icvLength = transform.icvLength();
        this.keyLength = keyAndSalt.length - SALT;
        boolean chacha = transform == EncryptionTransform.CHACHA20_POLY1305;
        this.name = chacha ? "ChaCha20-Poly1305" : "AES-GCM";
        this.lib = OpenSsl.lib();
        MemorySegment cipher = lib.cipher(chacha, keyLength);
        MemorySegment c = lib.ctxNew();
        if (c.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("EVP_CIPHER_CTX_new failed (out of memory)");
        }
        Arena arena = Arena.ofShared();  // the worker thread that uses it is not the one that makes it
        MemorySegment s = arena.allocate(STATE_SIZE, 8);
        Native resources = new Native(lib, arena, c, s);
        boolean keyed = false;
        try (Arena keyArena = Arena.ofConfined()) {
            MemorySegment key = keyArena.allocate(keyLength);
            MemorySegment.copy(keyAndSalt, 0, key, JAVA_BYTE, 0, keyLength);
            try {
                keyed = lib.initKey(c, cipher, key, 1) == 1;
            } finally {
                key.fill((byte) 0);
            }
            if (!keyed) {
                lib.clearErrors();
                throw new IllegalStateException(name + ": EVP_CipherInit_ex refused the key");
            }
        } finally {
            if (!keyed) {
                resources.run();
            }
        }
        this.ctx = c;
        this.state = s;
        this.nonce = s.asSlice(NONCE_OFFSET, SALT + IV);
        this.outLen = s.asSlice(OUT_LEN_OFFSET, 4);
        MemorySegment.copy(keyAndSalt, keyLength, s, JAVA_BYTE, NONCE_OFFSET, SALT);
        this.cleanable = CLEANER.register(this, resources);
    }

    @Override
    public EncryptionTransform transform() {
        return transform;
    }

    @Override
    public int ivLength() {
        return IV;
    }

    @Override
    public int icvLength() {
        return icvLength;
    }

    @Override
    public int seal(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len) {
        checkOpen();
        Objects.checkFromIndexSize(0, aadLen, aad.length);
        Objects.checkFromIndexSize(ivOff, IV, iv.length);
        Objects.checkFromIndexSize(off, len, buf.length);
        Objects.checkFromIndexSize(off + len, icvLength, buf.length);
        long ivValue = (long) LONG_BE.get(iv, ivOff);
        if (sealedOnce && ivValue == lastSealIv) {
            // As SunJCE does: the (key, IV) of the previous seal is a caller bug that must never pass.
            throw new IllegalStateException(name + " IV reused under the same key");
        }
        MemorySegment.copy(iv, ivOff, state, JAVA_BYTE, NONCE_OFFSET + SALT, IV);
        MemorySegment packet = MemorySegment.ofArray(buf);
        MemorySegment data = packet.asSlice(off);
        MemorySegment tag = packet.asSlice(off + len);
        boolean ok = lib.initIv(ctx, nonce, 1) == 1
                && (aadLen == 0 || lib.update(ctx, MemorySegment.NULL, outLen, MemorySegment.ofArray(aad), aadLen) == 1)
                && (len == 0 || lib.update(ctx, data, outLen, data, len) == 1)
                && lib.finish(ctx, tag, outLen) == 1
                && lib.ctrl(ctx, OpenSsl.EVP_CTRL_AEAD_GET_TAG, icvLength, tag) == 1;
        if (!ok) {
            lib.clearErrors();
            throw new IllegalStateException(name + " seal failed in OpenSSL");
        }
        lastSealIv = ivValue;
        sealedOnce = true;
        return len + icvLength;
    }

    @Override
    public int open(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len) {
        checkOpen();
        Objects.checkFromIndexSize(0, aadLen, aad.length);
        Objects.checkFromIndexSize(ivOff, IV, iv.length);
        Objects.checkFromIndexSize(off, len, buf.length);
        if (len < icvLength) {
            return -1;
        }
        int ctLen = len - icvLength;
        MemorySegment.copy(iv, ivOff, state, JAVA_BYTE, NONCE_OFFSET + SALT, IV);
        MemorySegment packet = MemorySegment.ofArray(buf);
        MemorySegment data = packet.asSlice(off);
        MemorySegment tag = packet.asSlice(off + ctLen);
        boolean ok = lib.initIv(ctx, nonce, 0) == 1
                && lib.ctrl(ctx, OpenSsl.EVP_CTRL_AEAD_SET_TAG, icvLength, tag) == 1
                && (aadLen == 0 || lib.update(ctx, MemorySegment.NULL, outLen, MemorySegment.ofArray(aad), aadLen) == 1)
                && (ctLen == 0 || lib.update(ctx, data, outLen, data, ctLen) == 1)
                && lib.finish(ctx, tag, outLen) == 1;
        if (!ok) {
            // A forgery (final's tag check) in practice. OpenSSL decrypted in place already.
            lib.clearErrors();
            Arrays.fill(buf, off, off + ctLen, (byte) 0);
            return -1;
        }
        return ctLen;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("cipher closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        lastSealIv = 0;
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "OpenSslAead[" + transform.ianaName() + ", " + keyLength * 8 + " bits]";
    }
}
