package dev.keel.bench;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.NamedParameterSpec;
import java.util.concurrent.TimeUnit;
import javax.crypto.KeyAgreement;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.math.ec.ECCurve;
import org.bouncycastle.math.ec.ECPoint;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.bouncycastle.util.BigIntegers;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One IKE key exchange as the engine does it, a fresh key pair plus the agreement with the peer's
 * public value, on Bouncy Castle's lightweight API (what dev.keel.ike.crypto uses) versus the
 * JDK's SunEC provider, for Curve25519 (group 31) and P-256 (group 19). The peer value is fixed;
 * the BC P-256 path includes the on-curve check of the peer point, as the IKE code does.
 * Run: {@code java -jar bench/target/benchmarks.jar IkeKeyExchange -f 1 -wi 2 -i 3}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class IkeKeyExchangeBenchmark {

    private final SecureRandom random = new SecureRandom();
    private final byte[] x25519Peer = new byte[32];
    private PublicKey jdkX25519Peer;
    private PublicKey jdkP256Peer;
    private KeyPairGenerator jdkXdhGen;
    private KeyPairGenerator jdkEcGen;
    private X9ECParameters p256;
    private BigInteger p256PeerX;
    private BigInteger p256PeerY;

    @Setup
    public void setup() throws GeneralSecurityException {
        byte[] k = new byte[32];
        random.nextBytes(k);
        X25519.scalarMultBase(k, 0, x25519Peer, 0);
        jdkXdhGen = KeyPairGenerator.getInstance("XDH", "SunEC");
        jdkXdhGen.initialize(NamedParameterSpec.X25519, random);
        jdkX25519Peer = jdkXdhGen.generateKeyPair().getPublic();
        jdkEcGen = KeyPairGenerator.getInstance("EC", "SunEC");
        jdkEcGen.initialize(new ECGenParameterSpec("secp256r1"), random);
        jdkP256Peer = jdkEcGen.generateKeyPair().getPublic();
        KeyFactory.getInstance("EC", "SunEC"); // warm the provider
        p256 = CustomNamedCurves.getByName("secp256r1");
        ECPoint peer = p256.getG().multiply(BigInteger.valueOf(123456789)).normalize();
        p256PeerX = peer.getAffineXCoord().toBigInteger();
        p256PeerY = peer.getAffineYCoord().toBigInteger();
    }

    @Benchmark
    public byte[] x25519BouncyCastle() {
        byte[] priv = new byte[32];
        random.nextBytes(priv);
        byte[] pub = new byte[32];
        X25519.scalarMultBase(priv, 0, pub, 0);
        byte[] secret = new byte[32];
        X25519.calculateAgreement(priv, 0, x25519Peer, 0, secret, 0);
        secret[0] ^= pub[0];
        return secret;
    }

    @Benchmark
    public byte[] x25519Jdk() throws GeneralSecurityException {
        KeyPair kp = jdkXdhGen.generateKeyPair();
        KeyAgreement ka = KeyAgreement.getInstance("XDH", "SunEC");
        ka.init(kp.getPrivate());
        ka.doPhase(jdkX25519Peer, true);
        byte[] secret = ka.generateSecret();
        secret[0] ^= kp.getPublic().getEncoded()[0];
        return secret;
    }

    @Benchmark
    public byte[] p256BouncyCastle() {
        BigInteger n = p256.getN();
        BigInteger d = BigIntegers.createRandomInRange(BigInteger.ONE, n.subtract(BigInteger.ONE), random);
        ECPoint q = new FixedPointCombMultiplier().multiply(p256.getG(), d).normalize();
        ECCurve curve = p256.getCurve();
        ECPoint peer = curve.validatePoint(p256PeerX, p256PeerY);
        ECPoint s = peer.multiply(d).normalize();
        byte[] out = BigIntegers.asUnsignedByteArray(32, s.getAffineXCoord().toBigInteger());
        out[0] ^= (byte) q.getAffineXCoord().toBigInteger().intValue();
        return out;
    }

    @Benchmark
    public byte[] p256Jdk() throws GeneralSecurityException {
        KeyPair kp = jdkEcGen.generateKeyPair();
        KeyAgreement ka = KeyAgreement.getInstance("ECDH", "SunEC");
        ka.init(kp.getPrivate());
        ka.doPhase(jdkP256Peer, true);
        byte[] secret = ka.generateSecret();
        secret[0] ^= kp.getPublic().getEncoded()[30];
        return secret;
    }
}
