package dev.keel.bench;

import java.security.GeneralSecurityException;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * SunJCE AES-GCM alone, called the way an ESP packet calls it (init with a fresh nonce, 8 bytes
 * of AAD, one {@code doFinal} on a heap array): the baseline for the ESP benchmarks, and the
 * evidence for two findings in docs/benchmarks.md.
 *
 * <ul>
 *   <li>{@code fixedCost}: init + AAD + tag of an empty packet, the per-packet price that
 *       dominates small packets (and all of the allocation).
 *   <li>{@code decryptInPlace} vs {@code decryptToOtherArray}: SunJCE skips its fused AES-GCM
 *       intrinsic when a decryption's input and output are the same array
 *       ({@code GaloisCounterMode.DecryptOp.doFinal} passes {@code ct = null}), and runs GHASH and
 *       CTR as two passes instead. Both variants first copy the packet into the work array, as a
 *       socket read would.
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class EspAesGcmProviderBenchmark {

    private static final int TAG = 16;

    @Param({"64", "1400", "8192"})
    public int size;

    @Param({"16"})
    public int keyBytes;

    private SecretKeySpec key;
    private final byte[] nonce = new byte[12];
    private final byte[] aad = new byte[8];
    private Cipher enc;
    private Cipher dec;
    private byte[] plain;
    private byte[] sealed;
    private byte[] work;
    private byte[] out;
    private long counter;
    private byte[] decryptNonce;

    @Setup(Level.Trial)
    public void setUp() throws GeneralSecurityException {
        Random r = new Random(size);
        byte[] k = new byte[keyBytes];
        r.nextBytes(k);
        key = new SecretKeySpec(k, "AES");
        r.nextBytes(nonce);
        r.nextBytes(aad);
        enc = Cipher.getInstance("AES/GCM/NoPadding", "SunJCE");
        dec = Cipher.getInstance("AES/GCM/NoPadding", "SunJCE");
        plain = new byte[size];
        r.nextBytes(plain);
        enc.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG * 8, nonce));
        enc.updateAAD(aad);
        sealed = enc.doFinal(plain);
        decryptNonce = nonce.clone();
        work = new byte[size + TAG];
        out = new byte[size + TAG];
    }

    @Benchmark
    public int encryptInPlace() throws GeneralSecurityException {
        System.arraycopy(plain, 0, work, 0, size);
        bumpNonce();
        enc.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG * 8, nonce));
        enc.updateAAD(aad, 0, aad.length);
        return enc.doFinal(work, 0, size, work, 0);
    }

    @Benchmark
    public int fixedCost() throws GeneralSecurityException {
        bumpNonce();
        enc.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG * 8, nonce));
        enc.updateAAD(aad, 0, aad.length);
        return enc.doFinal(work, 0, 0, work, 0);
    }

    @Benchmark
    public int decryptInPlace() throws GeneralSecurityException {
        System.arraycopy(sealed, 0, work, 0, sealed.length);
        dec.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG * 8, resetNonce()));
        dec.updateAAD(aad, 0, aad.length);
        return dec.doFinal(work, 0, sealed.length, work, 0);
    }

    @Benchmark
    public int decryptToOtherArray() throws GeneralSecurityException {
        System.arraycopy(sealed, 0, work, 0, sealed.length);
        dec.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG * 8, resetNonce()));
        dec.updateAAD(aad, 0, aad.length);
        return dec.doFinal(work, 0, sealed.length, out, 0);
    }

    /** A fresh nonce per seal: SunJCE refuses to encrypt twice under one (key, nonce). */
    private void bumpNonce() {
        long c = ++counter;
        for (int i = 0; i < 8; i++) {
            nonce[4 + i] = (byte) (c >>> (56 - 8 * i));
        }
    }

    /** The nonce {@link #sealed} was made with (the seals move {@link #nonce} on). */
    private byte[] resetNonce() {
        return decryptNonce;
    }
}
