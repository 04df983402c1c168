package dev.keel.ike.session;

import static dev.keel.ike.session.TwoIkePeers.ALICE;
import static dev.keel.ike.session.TwoIkePeers.BOB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.crypto.Certificates;
import dev.keel.ike.session.TestPki.Issued;
import dev.keel.ike.session.TestPki.KeyType;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * IKE_AUTH with X.509 certificates and RFC 7427 signatures between two Keel engines: chains
 * from a bcpkix-built PKI (with and without an intermediate; RSA, ECDSA P-256 and Ed25519
 * end entities; DN and FQDN identities), every way a peer's credentials can be wrong, and a
 * certificate set issued by strongSwan's own {@code pki} tool (src/test/resources/pki).
 */
class IkeCertificateAuthTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";

    /** One side's credentials. */
    record Side(String id, PrivateKey key, List<X509Certificate> chain, List<X509Certificate> cas, boolean signPss,
            boolean requirePss) {
        Side(String id, PrivateKey key, List<X509Certificate> chain, List<X509Certificate> cas) {
            this(id, key, chain, cas, false, false);
        }

        IkeConnection.Auth.PubKey auth() {
            return new IkeConnection.Auth.PubKey(key, chain, cas, List.of(), signPss, requirePss);
        }

        Side withCas(List<X509Certificate> trusted) {
            return new Side(id, key, chain, trusted, signPss, requirePss);
        }

        /** {@code auth: rsa/pss} on our side ({@code sign}) and on the peer's ({@code require}). */
        Side withPss(boolean sign, boolean require) {
            return new Side(id, key, chain, cas, sign, require);
        }
    }

    /**
     * One tunnel before the tests, its blocked-thread reports not asserted: the JVM's first
     * exchange loads the PKIX, signature and logging classes on the event loop, which on this
     * shared 2-core machine can exceed the 500 ms check once; every test after it is held to it.
     */
    @BeforeAll
    static void warmUp() throws Exception {
        Pki pki = Pki.of(KeyType.ECDSA_P256, true);
        try (TwoIkePeers peers = new TwoIkePeers()) {
            configure(peers, pki.side(pki.alice(), "alice.keel.test"), pki.side(pki.bob(), "bob.keel.test"),
                    "bob.keel.test");
            peers.alice.initiate("to-bob", "net").get(30, TimeUnit.SECONDS);
        }
    }

    private static void configure(TwoIkePeers peers, Side alice, Side bob, String aliceExpectsBob) {
        peers.alice.connections().replace(List.of(TwoIkePeers.connection("to-bob", ALICE, BOB, alice.id(),
                aliceExpectsBob, alice.auth(), IKE, ESP, "10.1.0.0/16", "10.2.0.0/16")));
        peers.bob.connections().replace(List.of(TwoIkePeers.connection("to-alice", BOB, ALICE, bob.id(),
                alice.id(), bob.auth(), IKE, ESP, "10.2.0.0/16", "10.1.0.0/16")));
    }

    private static String dn(String host) {
        return "C=CH, O=Keel, OU=Test, CN=" + host;
    }

    /** A PKI: root, optional intermediate, alice and bob end entities of {@code type}. */
    private record Pki(Issued root, Issued intermediate, Issued alice, Issued bob) {
        static Pki of(KeyType type, boolean withIntermediate) {
            Issued root = TestPki.rootCa("C=CH, O=Keel, CN=Keel Test Root");
            Issued issuer = withIntermediate ? TestPki.intermediate(root, "C=CH, O=Keel, CN=Keel Test Intermediate")
                    : root;
            return new Pki(root, withIntermediate ? issuer : null,
                    TestPki.endEntity(issuer, dn("alice.keel.test"), "alice.keel.test", type),
                    TestPki.endEntity(issuer, dn("bob.keel.test"), "bob.keel.test", type));
        }

        List<X509Certificate> chain(Issued ee) {
            List<X509Certificate> chain = new ArrayList<>(List.of(ee.cert()));
            if (intermediate != null) {
                chain.add(intermediate.cert());
            }
            return chain;
        }

        Side side(Issued ee, String id) {
            return new Side(id, ee.keys().getPrivate(), chain(ee), List.of(root.cert()));
        }
    }

    private static void assertTunnelUp(TwoIkePeers peers) throws Exception {
        IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
        Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
        assertThat(sa.state()).isEqualTo(IkeSaState.ESTABLISHED);
        assertThat(peers.bobEvents.established).hasSize(1);
        ChildSa a = peers.aliceEvents.children.peek();
        ChildSa b = peers.bobEvents.children.peek();
        assertThat(a.outboundSpi()).isEqualTo(b.inboundSpi());
        assertThat(a.outboundEncryptionKey()).isEqualTo(b.inboundEncryptionKey());
        assertThat(peers.aliceEvents.failures).isEmpty();
        assertThat(peers.bobEvents.failures).isEmpty();
        assertThat(peers.blocked).isEmpty();
    }

    @ParameterizedTest(name = "{0} end entities, {1} identities, intermediate {2}")
    @CsvSource({
        "RSA, dn, false", "RSA, dn, true", "RSA, fqdn, false", "RSA, fqdn, true",
        "ECDSA_P256, dn, false", "ECDSA_P256, dn, true", "ECDSA_P256, fqdn, false", "ECDSA_P256, fqdn, true",
        "ED25519, dn, false", "ED25519, dn, true", "ED25519, fqdn, false", "ED25519, fqdn, true",
    })
    void certificateTunnelComesUp(KeyType type, String idKind, boolean withIntermediate) throws Exception {
        Pki pki = Pki.of(type, withIntermediate);
        boolean byDn = idKind.equals("dn");
        Side alice = pki.side(pki.alice(), byDn ? dn("alice.keel.test") : "alice.keel.test");
        Side bob = pki.side(pki.bob(), byDn ? dn("bob.keel.test") : "bob.keel.test");
        try (TwoIkePeers peers = new TwoIkePeers()) {
            configure(peers, alice, bob, bob.id());
            assertTunnelUp(peers);
        }
    }

    @Test
    void mixedKeyTypesAndAnyPeerIdentity() throws Exception {
        Issued root = TestPki.rootCa("C=CH, O=Keel, CN=Mixed Root");
        Issued a = TestPki.endEntity(root, dn("alice.keel.test"), "alice.keel.test", KeyType.ED25519);
        Issued b = TestPki.endEntity(root, dn("bob.keel.test"), "bob.keel.test", KeyType.RSA);
        Side alice = new Side("alice.keel.test", a.keys().getPrivate(), List.of(a.cert()), List.of(root.cert()));
        Side bob = new Side("bob.keel.test", b.keys().getPrivate(), List.of(b.cert()), List.of(root.cert()));
        try (TwoIkePeers peers = new TwoIkePeers()) {
            configure(peers, alice, bob, null); // alice takes any identity bob's certificate proves
            assertTunnelUp(peers);
        }
    }

    /** {@code auth: rsa/pss} both ways: each side signs with RSASSA-PSS and requires it of the other. */
    @Test
    void rsaPssBothWays() throws Exception {
        Pki pki = Pki.of(KeyType.RSA, false);
        try (TwoIkePeers peers = new TwoIkePeers()) {
            configure(peers, pki.side(pki.alice(), "alice.keel.test").withPss(true, true),
                    pki.side(pki.bob(), "bob.keel.test").withPss(true, true), "bob.keel.test");
            assertTunnelUp(peers);
        }
    }

    // --- failures: the responder (bob) rejects alice ---

    /** Alice initiates with {@code alice}; bob must answer AUTHENTICATION_FAILED and nothing must remain. */
    private static void assertBobRejects(Side alice, Side bob, String bobsReason) throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            configure(peers, alice, bob, bob.id());
            assertThatThrownBy(() -> peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);
            Eventually.until(Duration.ofSeconds(5), "no IKE SA left",
                    () -> peers.alice.ikeSaCount() + peers.bob.ikeSaCount() == 0);
            assertThat(peers.bobEvents.failures).as("bob's failures").anyMatch(f -> f.contains(bobsReason))
                    .allMatch(f -> f.contains("AUTHENTICATION_FAILED"));
            assertThat(peers.aliceEvents.failures).as("alice's failures")
                    .anyMatch(f -> f.contains("AUTHENTICATION_FAILED"));
            assertThat(peers.aliceEvents.established).isEmpty();
            assertThat(peers.bobEvents.established).isEmpty();
            assertThat(peers.aliceEvents.children).isEmpty();
            assertThat(peers.bobEvents.children).isEmpty();
            assertThat(peers.bob.halfOpenCount()).isZero();
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void peerCertificateFromAnUntrustedCaIsRejected() throws Exception {
        Pki pki = Pki.of(KeyType.ECDSA_P256, true);
        Pki other = Pki.of(KeyType.ECDSA_P256, false); // same DNs, another key: only the signature differs
        Side alice = other.side(other.alice(), "alice.keel.test");
        assertBobRejects(alice, pki.side(pki.bob(), "bob.keel.test"), "certificate chain rejected");
    }

    @Test
    void aPkcs1SignatureIsRejectedByASideThatRequiresPss() throws Exception {
        Pki pki = Pki.of(KeyType.RSA, false);
        assertBobRejects(pki.side(pki.alice(), "alice.keel.test"),
                pki.side(pki.bob(), "bob.keel.test").withPss(true, true),
                "peer signed with RSA_PKCS1_SHA256; 'remote.auth: rsa/pss' requires RSASSA-PSS");
    }

    @Test
    void identityNotInTheCertificateIsRejected() throws Exception {
        Pki pki = Pki.of(KeyType.ECDSA_P256, false);
        // bob accepts this identity, but alice's certificate does not carry it
        Side alice = pki.side(pki.alice(), "mallory.keel.test");
        assertBobRejects(alice, pki.side(pki.bob(), "bob.keel.test"), "is not in its certificate");
    }

    @Test
    void dnIdentityThatIsNotTheSubjectIsRejected() throws Exception {
        Pki pki = Pki.of(KeyType.RSA, false);
        Side alice = pki.side(pki.alice(), dn("bob.keel.test")); // bob's DN, alice's certificate
        Side bob = pki.side(pki.bob(), "bob.keel.test");
        assertBobRejects(alice, bob, "is not in its certificate");
    }

    @Test
    void expiredCertificateIsRejected() throws Exception {
        Pki pki = Pki.of(KeyType.ECDSA_P256, false);
        Issued expired = TestPki.endEntity(pki.root(), dn("alice.keel.test"), "alice.keel.test",
                TestPki.keyPair(KeyType.ECDSA_P256), Instant.now().minus(Duration.ofDays(30)),
                Instant.now().minus(Duration.ofDays(1)));
        assertBobRejects(pki.side(expired, "alice.keel.test"), pki.side(pki.bob(), "bob.keel.test"),
                "certificate chain rejected");
    }

    @Test
    void signatureByAnotherKeyIsRejected() throws Exception {
        Pki pki = Pki.of(KeyType.ECDSA_P256, false);
        Side real = pki.side(pki.alice(), "alice.keel.test");
        Side forged = new Side(real.id(), TestPki.keyPair(KeyType.ECDSA_P256).getPrivate(), real.chain(), real.cas());
        assertBobRejects(forged, pki.side(pki.bob(), "bob.keel.test"), "BAD_SIGNATURE");
    }

    // --- failures: the initiator (alice) rejects bob ---

    /**
     * Bob's credentials are wrong; alice rejects his IKE_AUTH response, tells him with
     * AUTHENTICATION_FAILED in an INFORMATIONAL that also deletes the IKE SA (RFC 7296 §2.21.2),
     * and neither side keeps an IKE SA.
     */
    private static void assertAliceRejects(Side alice, Side bob, String alicesReason) throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            configure(peers, alice, bob, "bob.keel.test");
            java.util.concurrent.atomic.AtomicInteger informationalRequests = new java.util.concurrent.atomic.AtomicInteger();
            peers.dropToBob = m -> {
                if (dev.keel.ike.message.IkeHeader.peek(m).map(h -> !h.isResponse()
                        && h.exchange().name().equals("INFORMATIONAL")).orElse(false)) {
                    informationalRequests.incrementAndGet();
                }
                return false;
            };
            assertThatThrownBy(() -> peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);
            Eventually.until(Duration.ofSeconds(5), "no IKE SA left",
                    () -> peers.alice.ikeSaCount() + peers.bob.ikeSaCount() == 0);
            assertThat(peers.aliceEvents.failures).as("alice's failures").anyMatch(f -> f.contains(alicesReason));
            assertThat(peers.aliceEvents.established).isEmpty();
            assertThat(informationalRequests.get()).as("alice's INFORMATIONAL to bob").isEqualTo(1);
            assertThat(peers.bobEvents.destroyed).as("bob's IKE SA ends").singleElement()
                    .satisfies(reason -> assertThat(reason).contains("deleted by the peer"));
            assertThat(peers.bobEvents.children.size()).isEqualTo(peers.bobEvents.childrenDeleted.size());
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void initiatorRejectsAResponderCertificateFromAnUntrustedCa() throws Exception {
        Pki pki = Pki.of(KeyType.RSA, false);
        Pki other = Pki.of(KeyType.RSA, false);
        assertAliceRejects(pki.side(pki.alice(), "alice.keel.test"), other.side(other.bob(), "bob.keel.test")
                .withCas(List.of(pki.root().cert())), "certificate chain rejected");
    }

    @Test
    void initiatorRejectsAResponderSignatureByAnotherKey() throws Exception {
        Pki pki = Pki.of(KeyType.ED25519, false);
        Side real = pki.side(pki.bob(), "bob.keel.test");
        Side forged = new Side(real.id(), TestPki.keyPair(KeyType.ED25519).getPrivate(), real.chain(), real.cas());
        assertAliceRejects(pki.side(pki.alice(), "alice.keel.test"), forged, "BAD_SIGNATURE");
    }

    // --- strongSwan-issued certificates (pki tool; see src/test/resources/pki/README.md) ---

    private static Path fixture(String name) throws URISyntaxException {
        return Path.of(IkeCertificateAuthTest.class.getResource("/pki/" + name).toURI());
    }

    private static Side strongSwanSide(String host, String type, String id) throws Exception {
        return new Side(id, Certificates.loadPrivateKey(fixture(host + "-" + type + ".key")),
                Certificates.loadCertificates(fixture(host + "-" + type + ".pem")),
                Certificates.loadCertificates(fixture("ca-" + type + ".pem")));
    }

    @ParameterizedTest(name = "strongSwan pki {0} certificates, {1} identities")
    @CsvSource({"rsa, dn", "rsa, fqdn", "ecdsa, dn", "ecdsa, fqdn"})
    void strongSwanIssuedCertificatesAuthenticate(String type, String idKind) throws Exception {
        boolean byDn = idKind.equals("dn");
        Side moon = strongSwanSide("moon", type, byDn ? "C=CH, O=Keel Test, CN=moon.keel.test" : "moon.keel.test");
        Side sun = strongSwanSide("sun", type, byDn ? "C=CH, O=Keel Test, CN=sun.keel.test" : "sun.keel.test");
        assertThat(moon.key().getAlgorithm()).isEqualTo(type.equals("rsa") ? "RSA" : "EC");
        try (TwoIkePeers peers = new TwoIkePeers()) {
            configure(peers, moon, sun, sun.id());
            assertTunnelUp(peers);
        }
    }

    @Test
    void strongSwanCertificateFromTheOtherCaIsRejected() throws Exception {
        Side moon = strongSwanSide("moon", "ecdsa", "moon.keel.test");
        Side sun = strongSwanSide("sun", "rsa", "sun.keel.test"); // trusts only the RSA CA
        assertBobRejects(moon, sun, "certificate chain rejected");
    }
}
