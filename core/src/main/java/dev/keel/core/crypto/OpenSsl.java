package dev.keel.core.crypto;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.keel.core.ffi.Downcalls;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The few EVP calls of OpenSSL 3's libcrypto ({@code libcrypto.so.3}) that {@link OpenSslAead}
 * needs, bound once through the foreign-function API.
 *
 * <p>The per-packet calls (IV set-up, update, final, tag ctrl) are bound {@code critical}: they
 * run for microseconds, take no lock and never call back into Java, so skipping the thread-state
 * transition is safe. They take their pointers as {@code long} addresses of native memory the
 * caller owns (a pointer is a 64-bit integer argument in the x86_64 and aarch64 C ABIs, the only
 * platforms this is loaded on), so a packet allocates no {@code MemorySegment} at all: heap
 * segments passed through {@code critical(true)} measured ~184 B per call, not scalar-replaced.
 * The set-up calls (context allocation, keying, free) are ordinary downcalls.
 *
 * <p>Loading is attempted once, on first use of {@link #lib()}; when it fails
 * {@link #unavailableReason()} says why, and {@link PacketCiphers} falls back to the JCA.
 */
final class OpenSsl {

    /** {@code EVP_CTRL_AEAD_GET_TAG} ({@code <openssl/evp.h>}, = EVP_CTRL_GCM_GET_TAG). */
    static final int EVP_CTRL_AEAD_GET_TAG = 0x10;
    /** {@code EVP_CTRL_AEAD_SET_TAG} (= EVP_CTRL_GCM_SET_TAG). */
    static final int EVP_CTRL_AEAD_SET_TAG = 0x11;

    private OpenSsl() {
    }

    /** The bound library; throws {@link IllegalStateException} naming the reason when it did not load. */
    static Lib lib() {
        Holder h = Holder.INSTANCE;
        if (h.lib == null) {
            throw new IllegalStateException("OpenSSL libcrypto unavailable: " + h.failure);
        }
        return h.lib;
    }

    /** Null when libcrypto loaded, else why not. */
    static String unavailableReason() {
        return Holder.INSTANCE.failure;
    }

    /** Lazily loads, once. */
    private static final class Holder {
        static final Holder INSTANCE = new Holder();
        final Lib lib;
        final String failure;

        private Holder() {
            Lib l = null;
            String why = null;
            String os = System.getProperty("os.name", "");
            String arch = System.getProperty("os.arch", "");
            if (!os.toLowerCase(java.util.Locale.ROOT).startsWith("linux")) {
                why = "libcrypto.so.3 is looked up on Linux only; this is " + os;
            } else if (!arch.equals("amd64") && !arch.equals("x86_64") && !arch.equals("aarch64")) {
                // the per-packet bindings pass pointers as 64-bit integers (LP64 C ABIs)
                why = "the OpenSSL binding supports x86_64 and aarch64 only; this is " + arch;
            } else {
                try {
                    l = new Lib();
                    long version = l.versionNumber();
                    if ((version >>> 28) < 3) {
                        why = "libcrypto reports version 0x" + Long.toHexString(version) + ", OpenSSL 3 needed";
                        l = null;
                    }
                } catch (IllegalArgumentException | UnsatisfiedLinkError | IllegalCallerException e) {
                    // IllegalArgumentException: the library is not found; IllegalCallerException:
                    // native access is not enabled for this module (--enable-native-access).
                    why = e.getClass().getSimpleName() + ": " + e.getMessage();
                    l = null;
                }
            }
            this.lib = l;
            this.failure = why;
        }
    }

    /** The bound handles. */
    static final class Lib {

        private static final Linker LINKER = Linker.nativeLinker();
        private static final Linker.Option CRITICAL = Linker.Option.critical(false);

        private final SymbolLookup crypto;
        private final MethodHandle versionNum;
        private final MethodHandle ctxNew;
        private final MethodHandle ctxFree;
        private final MethodHandle cipherInitSetup;
        private final MethodHandle cipherInitIv;
        private final MethodHandle cipherUpdate;
        private final MethodHandle cipherFinal;
        private final MethodHandle ctxCtrl;
        private final MethodHandle errClear;
        private final MethodHandle aes128Gcm;
        private final MethodHandle aes192Gcm;
        private final MethodHandle aes256Gcm;
        private final MethodHandle chacha20Poly1305;

        @SuppressWarnings("restricted") // native access is the point; surefire and the launchers enable it
        private Lib() {
            crypto = SymbolLookup.libraryLookup("libcrypto.so.3", Arena.global());
            versionNum = bind("OpenSSL_version_num", FunctionDescriptor.of(JAVA_LONG));
            ctxNew = bind("EVP_CIPHER_CTX_new", FunctionDescriptor.of(ADDRESS));
            ctxFree = bind("EVP_CIPHER_CTX_free", FunctionDescriptor.ofVoid(ADDRESS));
            cipherInitSetup = bind("EVP_CipherInit_ex",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
            // per packet: pointers as long addresses (see the class comment)
            cipherInitIv = bind("EVP_CipherInit_ex",
                    FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT),
                    CRITICAL);
            cipherUpdate = bind("EVP_CipherUpdate",
                    FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT), CRITICAL);
            cipherFinal = bind("EVP_CipherFinal_ex",
                    FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG), CRITICAL);
            ctxCtrl = bind("EVP_CIPHER_CTX_ctrl",
                    FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG), CRITICAL);
            errClear = bind("ERR_clear_error", FunctionDescriptor.ofVoid());
            aes128Gcm = bind("EVP_aes_128_gcm", FunctionDescriptor.of(ADDRESS));
            aes192Gcm = bind("EVP_aes_192_gcm", FunctionDescriptor.of(ADDRESS));
            aes256Gcm = bind("EVP_aes_256_gcm", FunctionDescriptor.of(ADDRESS));
            chacha20Poly1305 = bind("EVP_chacha20_poly1305", FunctionDescriptor.of(ADDRESS));
        }

        @SuppressWarnings("restricted")
        private MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... options) {
            MemorySegment symbol = crypto.find(name)
                    .orElseThrow(() -> new UnsatisfiedLinkError("libcrypto has no symbol " + name));
            return LINKER.downcallHandle(symbol, fd, options);
        }

        long versionNumber() {
            try {
                return (long) versionNum.invokeExact();
            } catch (Throwable t) {
                throw Downcalls.unexpected(t);
            }
        }

        /** {@code EVP_aes_{128,192,256}_gcm()} by key length in bytes, or {@code EVP_chacha20_poly1305()}. */
        MemorySegment cipher(boolean chacha, int keyLength) {
            MethodHandle h = chacha ? chacha20Poly1305
                    : switch (keyLength) {
                        case 16 -> aes128Gcm;
                        case 24 -> aes192Gcm;
                        case 32 -> aes256Gcm;
                        default -> throw new IllegalArgumentException("no AES key of " + keyLength + " bytes");
                    };
            try {
                MemorySegment c = (MemorySegment) h.invokeExact();
                if (c.equals(MemorySegment.NULL)) {
                    throw new IllegalStateException("libcrypto returned no cipher for "
                            + (chacha ? "ChaCha20-Poly1305" : "AES-" + keyLength * 8 + "-GCM"));
                }
                return c;
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw Downcalls.unexpected(t);
            }
        }

        /** {@code EVP_CIPHER_CTX_new()}; NULL when out of memory. */
        MemorySegment ctxNew() {
            try {
                return (MemorySegment) ctxNew.invokeExact();
            } catch (Throwable t) {
                throw Downcalls.unexpected(t);
            }
        }

        void ctxFree(MemorySegment ctx) {
            try {
                ctxFree.invokeExact(ctx);
            } catch (Throwable t) {
                throw Downcalls.unexpected(t);
            }
        }

        /** {@code EVP_CipherInit_ex(ctx, cipher, NULL, key, NULL, enc)}: the one keying call per context. */
        int initKey(MemorySegment ctx, MemorySegment cipher, MemorySegment key, int enc) {
            try {
                return (int) cipherInitSetup.invokeExact(ctx, cipher, MemorySegment.NULL, key, MemorySegment.NULL,
                        enc);
            } catch (Throwable t) {
                throw Downcalls.unexpected(t);
            }
        }

        /** {@code EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, enc)}: new nonce, same key schedule. */
        int initIv(long ctx, long iv, int enc) {
            try {
                return (int) cipherInitIv.invokeExact(ctx, 0L, 0L, 0L, iv, enc);
            } catch (Throwable t) {
                throw Downcalls.unexpected(t);
            }
        }

        /** {@code EVP_CipherUpdate}; {@code out} 0 (NULL) feeds AAD. */
        int update(long ctx, long out, long outLen, long in, int inLen) {
            try {
                return (int) cipherUpdate.invokeExact(ctx, out, outLen, in, inLen);
            } catch (Throwable t) {
                throw Downcalls.unexpected(t);
            }
        }

        /** {@code EVP_CipherFinal_ex}; 0 on a decryption whose tag does not verify. */
        int finish(long ctx, long out, long outLen) {
            try {
                return (int) cipherFinal.invokeExact(ctx, out, outLen);
            } catch (Throwable t) {
                throw Downcalls.unexpected(t);
            }
        }

        /** {@code EVP_CIPHER_CTX_ctrl}. */
        int ctrl(long ctx, int type, int arg, long ptr) {
            try {
                return (int) ctxCtrl.invokeExact(ctx, type, arg, ptr);
            } catch (Throwable t) {
                throw Downcalls.unexpected(t);
            }
        }

        /** Empties this thread's OpenSSL error queue (after a failed call). */
        void clearErrors() {
            try {
                errClear.invokeExact();
            } catch (Throwable t) {
                throw Downcalls.unexpected(t);
            }
        }
    }
}
