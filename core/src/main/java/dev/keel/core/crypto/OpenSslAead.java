package dev.keel.core.crypto;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.transform.EncryptionTransform;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;

/**
 * AES-GCM (RFC 4106, ICV 8, 12 or 16 bytes) and ChaCha20-Poly1305 (RFC 7634) on OpenSSL 3's EVP
 * interface, allocation-free per packet.
 *
 * <p>One {@code EVP_CIPHER_CTX} per instance is keyed once (the AES key schedule and GHASH table,
 * or the ChaCha20 key, stay in it); a packet only sets the nonce ({@code salt || iv}, 12 bytes),
 * feeds the AAD and the data, and gets or sets the tag. SunJCE, by contrast, builds a new GCM or
 * Poly1305 engine on every {@code Cipher.init}, i.e. per packet (docs/benchmarks.md).
 *
 * <p>The packet is copied into a per-instance off-heap scratch buffer, processed there and copied
 * back: the downcalls then take plain {@code long} addresses (see {@link OpenSsl}) and no Java
 * object is made per packet. Every index is checked against the Java arrays before a byte is
 * copied, and the scratch is sized to what is copied, so a bad length never reaches OpenSSL.
 *
 * <p>{@link #open} copies plaintext back only after {@code EVP_CipherFinal_ex} verified the tag;
 * on failure the scratch is zeroed and {@code buf} still holds the ciphertext. The key is put in
 * native memory only for the keying call and zeroed right after; {@code EVP_CIPHER_CTX_free} (on
 * {@link #close}, or by a cleaner if an instance is dropped unclosed) cleanses OpenSSL's copy.
 */
final class OpenSslAead extends AbstractAeadCipher {

    /** Scratch layout: {@code salt || iv} at 0, the {@code int *outl} at 16, AAD at 32, then data. */
    private static final int NONCE = 0;
    private static final int OUT_LEN = 16;
    private static final int AAD = 32;
    private static final int INITIAL_AAD_CAPACITY = 64;
    private static final int INITIAL_DATA_CAPACITY = 2048;
    /** {@link #use}: no call in progress; one call in progress; closed during a call; closed. */
    private static final int IDLE = 0;
    private static final int BUSY = 1;
    private static final int CLOSE_PENDING = 2;
    private static final int CLOSED = 3;
    private static final VarHandle USE;

    static {
        try {
            USE = MethodHandles.lookup().findVarHandle(OpenSslAead.class, "use", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    private static final Cleaner CLEANER = Cleaner.create();

    private final int keyLength;
    private final String name;
    private final OpenSsl.Lib lib;
    private final Native resources;
    private final long ctx;
    private final Cleaner.Cleanable cleanable;
    private MemorySegment scratch;
    private long base;
    private int aadCapacity;
    private int dataCapacity;
    private long lastSealIv;
    private boolean sealedOnce;
    /**
     * Guards the native context and scratch against {@link #close} from another thread while a
     * packet is in them (EspSa.close closes every thread's ciphers from the deleting thread): the
     * call in progress finishes and frees them, so nothing is freed under OpenSSL's feet.
     */
    @SuppressWarnings("unused") // through USE
    private volatile int use;

    /** What must be released once, by {@link #close} or by the cleaner; holds no reference to the cipher. */
    private static final class Native implements Runnable {
        final OpenSsl.Lib lib;
        final MemorySegment ctx;
        Arena arena;
        MemorySegment scratch;

        Native(OpenSsl.Lib lib, MemorySegment ctx) {
            this.lib = lib;
            this.ctx = ctx;
        }

        /** Replaces the scratch buffer, keeping its first {@code keep} bytes, wiping and freeing the old one. */
        MemorySegment allocate(long size, long keep) {
            Arena next = Arena.ofShared();  // the worker thread that uses it is not the one that closes it
            MemorySegment s = next.allocate(size, 16);
            if (scratch != null) {
                MemorySegment.copy(scratch, 0, s, 0, keep);
            }
            releaseScratch();
            arena = next;
            scratch = s;
            return s;
        }

        private void releaseScratch() {
            if (arena != null) {
                scratch.fill((byte) 0);
                arena.close();
                arena = null;
                scratch = null;
            }
        }

        @Override
        public void run() {
            releaseScratch();
            lib.ctxFree(ctx);  // EVP_CIPHER_CTX_free cleanses the key schedule
        }
    }

    /**
     * {@code keyAndSalt} is the cipher key followed by the 4-byte salt (RFC 4106 §8.1, RFC 7634 §2);
     * the caller has checked the lengths.
     */
    OpenSslAead(EncryptionTransform transform, byte[] keyAndSalt) {
        super(transform);
        this.keyLength = keyAndSalt.length - SALT;
        boolean chacha = transform == EncryptionTransform.CHACHA20_POLY1305;
        this.name = chacha ? "ChaCha20-Poly1305" : "AES-GCM";
        this.lib = OpenSsl.lib();
        MemorySegment cipher = lib.cipher(chacha, keyLength);
        MemorySegment c = lib.ctxNew();
        if (c.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("EVP_CIPHER_CTX_new failed (out of memory)");
        }
        Native n = new Native(lib, c);
        boolean keyed = false;
        boolean ready = false;
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
            grow(n, INITIAL_AAD_CAPACITY, INITIAL_DATA_CAPACITY);
            ready = true;
        } finally {
            if (!ready) {
                n.run();
            }
        }
        this.resources = n;
        this.ctx = c.address();
        MemorySegment.copy(keyAndSalt, keyLength, scratch, JAVA_BYTE, NONCE, SALT);
        this.cleanable = CLEANER.register(this, n);
    }

    /**
     * Makes room for {@code aadLen} bytes of AAD and {@code dataLen} of data (+ tag). Grows at least
     * twofold, so a run of ever larger packets reallocates a few times, not per packet.
     */
    private void ensureCapacity(int aadLen, int dataLen) {
        if (aadLen > aadCapacity || dataLen > dataCapacity) {
            grow(resources, aadLen > aadCapacity ? Math.max(aadLen, 2 * aadCapacity) : aadCapacity,
                    dataLen > dataCapacity ? Math.max(dataLen, 2 * dataCapacity) : dataCapacity);
        }
    }

    private void grow(Native n, int aadBytes, int dataBytes) {
        MemorySegment next = n.allocate(0L + AAD + aadBytes + dataBytes, NONCE + SALT);  // keeps the salt
        scratch = next;
        base = next.address();
        aadCapacity = aadBytes;
        dataCapacity = dataBytes;
    }

    @Override
    int sealChecked(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len) {
        enter();
        try {
            return sealInScratch(aad, aadLen, iv, ivOff, buf, off, len);
        } finally {
            exit();
        }
    }

    private int sealInScratch(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len) {
        long ivValue = BigEndian.getLong(iv, ivOff);
        if (sealedOnce && ivValue == lastSealIv) {
            // As SunJCE does: the (key, IV) of the previous seal is a caller bug that must never pass.
            throw new IllegalStateException(name + " IV reused under the same key");
        }
        int sealedLen = len + icvLength;
        ensureCapacity(aadLen, sealedLen);
        MemorySegment s = scratch;
        long b = base;
        long data = AAD + aadCapacity;
        MemorySegment.copy(iv, ivOff, s, JAVA_BYTE, NONCE + SALT, IV);
        MemorySegment.copy(aad, 0, s, JAVA_BYTE, AAD, aadLen);
        MemorySegment.copy(buf, off, s, JAVA_BYTE, data, len);
        boolean ok = lib.initIv(ctx, b + NONCE, 1) == 1
                && (aadLen == 0 || lib.update(ctx, 0L, b + OUT_LEN, b + AAD, aadLen) == 1)
                && (len == 0 || lib.update(ctx, b + data, b + OUT_LEN, b + data, len) == 1
                        && s.get(JAVA_INT, OUT_LEN) == len)
                && lib.finish(ctx, b + data + len, b + OUT_LEN) == 1
                && lib.ctrl(ctx, OpenSsl.EVP_CTRL_AEAD_GET_TAG, icvLength, b + data + len) == 1;
        if (!ok) {
            lib.clearErrors();
            throw new IllegalStateException(name + " seal failed in OpenSSL");
        }
        MemorySegment.copy(s, JAVA_BYTE, data, buf, off, sealedLen);
        lastSealIv = ivValue;
        sealedOnce = true;
        return sealedLen;
    }

    @Override
    int openChecked(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len) {
        enter();
        try {
            return len < icvLength ? -1 : openInScratch(aad, aadLen, iv, ivOff, buf, off, len);
        } finally {
            exit();
        }
    }

    private int openInScratch(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len) {
        int ctLen = len - icvLength;
        ensureCapacity(aadLen, len);
        MemorySegment s = scratch;
        long b = base;
        long data = AAD + aadCapacity;
        MemorySegment.copy(iv, ivOff, s, JAVA_BYTE, NONCE + SALT, IV);
        MemorySegment.copy(aad, 0, s, JAVA_BYTE, AAD, aadLen);
        MemorySegment.copy(buf, off, s, JAVA_BYTE, data, len);
        boolean ok = lib.initIv(ctx, b + NONCE, 0) == 1
                && lib.ctrl(ctx, OpenSsl.EVP_CTRL_AEAD_SET_TAG, icvLength, b + data + ctLen) == 1
                && (aadLen == 0 || lib.update(ctx, 0L, b + OUT_LEN, b + AAD, aadLen) == 1)
                && (ctLen == 0 || lib.update(ctx, b + data, b + OUT_LEN, b + data, ctLen) == 1
                        && s.get(JAVA_INT, OUT_LEN) == ctLen)
                && lib.finish(ctx, b + data + ctLen, b + OUT_LEN) == 1;
        if (!ok) {
            // A forgery (final's tag check) in practice. OpenSSL decrypted into the scratch before it
            // compared the tag: wipe that; buf still holds the ciphertext.
            lib.clearErrors();
            s.asSlice(data, ctLen).fill((byte) 0);
            return -1;
        }
        MemorySegment.copy(s, JAVA_BYTE, data, buf, off, ctLen);
        return ctLen;
    }

    private void enter() {
        if (!USE.compareAndSet(this, IDLE, BUSY)) {
            throw new IllegalStateException((int) USE.getVolatile(this) == BUSY
                    ? "cipher used by two threads at once" : "cipher closed");
        }
    }

    private void exit() {
        if (!USE.compareAndSet(this, BUSY, IDLE)) {
            // close() came from another thread during this call and left the release to us
            USE.setVolatile(this, CLOSED);
            cleanable.clean();
        }
    }

    /** Frees the context and scratch now, or, when a call is in progress on another thread, when it ends. */
    @Override
    public void close() {
        while (true) {
            int u = (int) USE.getVolatile(this);
            if (u == CLOSED || u == CLOSE_PENDING) {
                return;
            }
            if (u == IDLE && USE.compareAndSet(this, IDLE, CLOSED)) {
                cleanable.clean();
                return;
            }
            if (u == BUSY && USE.compareAndSet(this, BUSY, CLOSE_PENDING)) {
                return;
            }
        }
    }

    @Override
    public String toString() {
        return "OpenSslAead[" + transform.ianaName() + ", " + keyLength * 8 + " bits]";
    }
}
