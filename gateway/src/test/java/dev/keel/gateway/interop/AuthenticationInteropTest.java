package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.SystemTests;
import dev.keel.gateway.interop.TestPki.KeyType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Authentication breadth against charon 5.9.8 (Keel in site A, charon in site B of a
 * {@link NetnsTopology}): RFC 7427 digital signatures with every key type Keel signs with
 * (RSA-2048 with PKCS#1 v1.5 and with RSASSA-PSS, ECDSA P-384 and P-521, Ed25519), identities of
 * every type charon and Keel share (RFC 7296 §3.5: FQDN, user FQDN, DN, IPv4 address), a CRL file
 * that revokes charon's certificate, and CERTREQ both ways (§3.7). Certificates and CRLs come
 * from openssl ({@link TestPki}). charon sends its certificate only when asked
 * ({@code send_cert = ifasked}), so every tunnel that comes up also shows that Keel asked:
 * each asserts charon's log of both CERTREQs and both certificates.
 *
 * <p>Who initiates changes which message carries the CERTREQ and which side picks its connection
 * by the peer's identity, so those cases run both ways; signing and verifying happen on both
 * sides in every exchange, so the key types alternate.
 */
@Timeout(180) // a case takes 10 s on an idle machine; 25-90 s were seen with the load average at 20
class AuthenticationInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";
    private static final String UNUSED_PSK = "keel-interop-psk-0123456"; // replaced by certificates
    private static final int PINGS = 3;
    /** What charon logs of Keel's CERTREQ and certificate and of its own, as {@link TestPki#CA_SUBJECT} prints. */
    private static final String CA = "O=Keel test, CN=Keel test CA";

    /** Configurations, PKI, logs; JUnit removes it, also after a failure. */
    @TempDir
    Path work;

    @BeforeEach
    void requireTools() {
        StrongSwanPeer.assumeAvailable();
        SystemTests.assumeTool("openssl");
        SystemTests.assumeTool("ping");
    }

    /** The identity types of RFC 7296 §3.5 both sides take, written as swanctl and Keel both read them. */
    enum IdType {
        FQDN, USER_FQDN, DN, IPV4;

        String id(NetnsTopology.Site site) {
            String fqdn = "gw-" + site.name() + ".keel.test";
            return switch (this) {
                case FQDN -> fqdn;
                case USER_FQDN -> "gw-" + site.name() + "@keel.test";
                case DN -> "O=Keel test, CN=" + fqdn;
                case IPV4 -> site.outerAddress();
            };
        }

        /** The subjectAltName that carries the identity (a DN identity is the subject itself). */
        String san(NetnsTopology.Site site) {
            return switch (this) {
                case FQDN, DN -> "DNS:" + id(site).replace("O=Keel test, CN=", "");
                case USER_FQDN -> "email:" + id(site);
                case IPV4 -> "IP:" + id(site);
            };
        }
    }

    /**
     * Every key type with RFC 7427 signatures: charon verifies Keel's signature with the scheme
     * Keel chose for its key (the hash matching the curve; PKCS#1 v1.5 for RSA unless
     * {@code rsa/pss}), Keel verifies charon's, and the tunnel carries pings.
     */
    @ParameterizedTest(name = "{0} certificates, {1} initiates")
    @CsvSource(delimiter = ';', value = {
        "RSA_2048; keel; RSA_EMSA_PKCS1_SHA2_256; RSA_PKCS1_SHA256",
        "EC_P384; charon; ECDSA_WITH_SHA384_DER; ECDSA_SHA384",
        "EC_P521; keel; ECDSA_WITH_SHA512_DER; ECDSA_SHA512",
        "ED25519; charon; ED25519; ED25519"})
    void everyKeyTypeAuthenticatesBothSides(KeyType type, String initiator, String charonVerified,
            String keelVerified) throws Exception {
        try (NetnsTopology topo = NetnsTopology.create()) {
            Path pki = pki(topo, type, IdType.FQDN);
            upAndCarryingTraffic(topo, IdType.FQDN, certificates(pki, "a"), certificates(pki, "b"),
                    initiator.equals("keel"), charonVerified, keelVerified);
        }
    }

    /**
     * RSASSA-PSS (RFC 7427 §3, RFC 4055): charon requires it of Keel ({@code remote.auth =
     * ike:rsa/pss-sha256}: the IKE signature alone, not the CA's on the certificate) and signs
     * with it ({@code charon.rsa_pss = yes}); Keel, with {@code auth: rsa/pss} on both sides, signs
     * with it and requires it. RFC 7427 §4 announces hashes, not paddings, so only the
     * configuration on each side says PSS.
     */
    @ParameterizedTest(name = "{0} initiates")
    @CsvSource({"keel", "charon"})
    void rsaPssBothWays(String initiator) throws Exception {
        try (NetnsTopology topo = NetnsTopology.create()) {
            Path pki = pki(topo, KeyType.RSA_2048, IdType.FQDN);
            upAndCarryingTraffic(topo, IdType.FQDN, certificates(pki, "a").withAuth("rsa/pss", "rsa/pss"),
                    certificates(pki, "b").withAuth("pubkey", "ike:rsa/pss-sha256"),
                    charonOptions().withCharonLine("rsa_pss = yes"), initiator.equals("keel"),
                    "RSA_EMSA_PSS_SHA2_256_SALT_32", "RSA_PSS_SHA256");
        }
    }

    /**
     * The side that requires RSASSA-PSS refuses a PKCS#1 v1.5 signature: charon refuses Keel's
     * (Keel configured {@code auth: pubkey}), Keel refuses charon's (Keel configured
     * {@code remote.auth: rsa/pss}, charon PKCS#1 v1.5); AUTHENTICATION_FAILED, no CHILD SA.
     */
    @ParameterizedTest(name = "{0} requires RSA-PSS, {1} initiates")
    @CsvSource(delimiter = ';', value = {
        "charon; keel; pubkey; ike:rsa/pss-sha256; peer answered IKE_AUTH with AUTHENTICATION_FAILED;"
                + " generating IKE_AUTH response 1 [ N(AUTH_FAILED) ]",
        "keel; charon; rsa/pss; pubkey; peer signed with RSA_PKCS1_SHA256;"
                + " received AUTHENTICATION_FAILED notify error"})
    void aPkcs1SignatureIsRefusedWherePssIsRequired(String requirer, String initiator, String keelAuth,
            String charonRemoteAuth, String keelSays, String charonSays) throws Exception {
        try (NetnsTopology topo = NetnsTopology.create()) {
            Path pki = pki(topo, KeyType.RSA_2048, IdType.FQDN);
            refused(topo, certificates(pki, "a").withAuth(keelAuth, keelAuth),
                    certificates(pki, "b").withAuth("pubkey", charonRemoteAuth), initiator.equals("keel"), keelSays,
                    charonSays);
        }
    }

    /**
     * Identities other than FQDN (every other case uses FQDNs): each side sends its own as that
     * ID type, finds it in the certificate's subjectAltName (the subject for a DN), and the
     * responder picks its connection by the initiator's.
     */
    @ParameterizedTest(name = "{0} identities, {1} initiates")
    @CsvSource(delimiter = ';', value = {
        "USER_FQDN; keel", "USER_FQDN; charon", "DN; keel", "DN; charon", "IPV4; keel", "IPV4; charon"})
    void everyIdentityType(IdType ids, String initiator) throws Exception {
        try (NetnsTopology topo = NetnsTopology.create()) {
            Path pki = pki(topo, KeyType.EC_P256, ids);
            upAndCarryingTraffic(topo, ids, certificates(pki, "a"), certificates(pki, "b"), initiator.equals("keel"),
                    "ECDSA_WITH_SHA256_DER", "ECDSA_SHA256");
        }
    }

    /**
     * Keel's {@code remote.crls}: a CRL of the trusted CA (openssl ca -gencrl) that lists
     * charon's certificate makes Keel refuse it with AUTHENTICATION_FAILED (RFC 5280 §6.3); one
     * that lists another certificate of the same CA lets charon in.
     */
    @ParameterizedTest(name = "CRL revoking {0}, {1} initiates")
    @CsvSource(delimiter = ';', value = {
        "gw-b; keel; parsed INFORMATIONAL request 2 [ N(AUTH_FAILED) D ]",
        "gw-b; charon; received AUTHENTICATION_FAILED notify error",
        "gw-c; charon; -"})
    void aCrlRevokingCharonsCertificateMakesKeelRefuseIt(String revoked, String initiator, String charonSays)
            throws Exception {
        try (NetnsTopology topo = NetnsTopology.create()) {
            Path pki = pki(topo, KeyType.EC_P256, IdType.FQDN);
            TestPki.createLeaf(pki, "gw-c", KeyType.EC_P256, "/O=Keel test/CN=gw-c.keel.test", "DNS:gw-c.keel.test");
            Path crl = TestPki.createCrl(pki, "revoked-" + revoked, List.of(revoked));
            PeerAuth.Certificates keelAuth = certificates(pki, "a").withCrls(List.of(crl));
            boolean keelInitiates = initiator.equals("keel");
            if (revoked.equals("gw-b")) {
                refused(topo, keelAuth, certificates(pki, "b"), keelInitiates,
                        "destroyed: certificate chain rejected: REVOKED: 'CN=gw-b.keel.test,O=Keel test'", charonSays);
            } else {
                upAndCarryingTraffic(topo, IdType.FQDN, keelAuth, certificates(pki, "b"), keelInitiates,
                        "ECDSA_WITH_SHA256_DER", "ECDSA_SHA256");
            }
        }
    }

    /** A CA of {@code type} and leaves {@code gw-a} (Keel) and {@code gw-b} (charon) with {@code ids}' subjectAltNames. */
    private Path pki(NetnsTopology topo, KeyType type, IdType ids) throws Exception {
        Path pki = Files.createDirectories(work.resolve("pki"));
        TestPki.createCa(pki, TestPki.CA_SUBJECT, type);
        for (NetnsTopology.Site site : List.of(topo.a(), topo.b())) {
            TestPki.createLeaf(pki, "gw-" + site.name(), type, "/O=Keel test/CN=gw-" + site.name() + ".keel.test",
                    ids.san(site));
        }
        return pki;
    }

    private static PeerAuth.Certificates certificates(Path pki, String site) {
        return new PeerAuth.Certificates(pki.resolve("gw-" + site + ".crt"), pki.resolve("gw-" + site + ".key"),
                List.of(pki.resolve("ca.crt")));
    }

    /** charon that sends its certificate only when asked (strongSwan's default, said explicitly). */
    private static CharonOptions charonOptions() {
        return CharonOptions.defaults().withConnectionLine("send_cert = ifasked");
    }

    /**
     * The tunnel comes up with {@code ids}: charon logs Keel's signature verified with
     * {@code charonVerified} and its certificate received because it asked, Keel logs charon's
     * verified with {@code keelVerified}, both list the identities, and pings pass.
     */
    private void upAndCarryingTraffic(NetnsTopology topo, IdType ids, PeerAuth.Certificates keelAuth,
            PeerAuth.Certificates charonAuth, boolean keelInitiates, String charonVerified, String keelVerified)
            throws Exception {
        upAndCarryingTraffic(topo, ids, keelAuth, charonAuth, charonOptions(), keelInitiates, charonVerified,
                keelVerified);
    }

    private void upAndCarryingTraffic(NetnsTopology topo, IdType ids, PeerAuth.Certificates keelAuth,
            PeerAuth.Certificates charonAuth, CharonOptions options, boolean keelInitiates, String charonVerified,
            String keelVerified) throws Exception {
        String a = ids.id(topo.a());
        String b = ids.id(topo.b());
        try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                spec(topo.b(), topo.a(), ids, charonAuth, false), options);
                KeelGatewayProcess keel = KeelGatewayProcess.start(topo, topo.a(),
                        spec(topo.a(), topo.b(), ids, keelAuth, keelInitiates), work.resolve("keel"))) {
            KeelStrongSwanInteropTest.withLogs(charon, keel, () -> {
                if (!keelInitiates) {
                    charon.initiate(WAIT).requireOk();
                }
                SwanctlSas.IkeSa ikeSa = CharonPairTest.single(charon.awaitSas(l -> l.size() == 1
                        && l.getFirst().child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT));
                assertThat(ikeSa.state()).isEqualTo("ESTABLISHED");
                assertThat(ikeSa.initiator()).as("charon initiated").isEqualTo(!keelInitiates);
                assertThat(ikeSa.localId()).isEqualTo(b);
                assertThat(ikeSa.remoteId()).isEqualTo(a);
                // CERTREQ both ways (RFC 7296 §3.7): charon found the CA Keel asked for and, sending its
                // certificate only when asked, sent it; Keel sent its own when charon asked
                assertThat(charon.log()).contains("authentication of '" + a + "' with " + charonVerified + " successful")
                        .contains("received cert request for \"" + CA + "\"")
                        .contains("sending end entity cert \"O=Keel test, CN=gw-b.keel.test\"")
                        .contains("sending cert request for \"" + CA + "\"")
                        .contains("received end entity cert \"O=Keel test, CN=gw-a.keel.test\"");
                keel.awaitLog("authentication of '" + b + "' with " + keelVerified + " successful", WAIT);
                if (keelInitiates) {
                    keel.awaitLog("usable in the data plane", WAIT); // SAD install, watch, first lease
                }
                CharonPairTest.assertEveryPingAnswered(topo, PINGS);
            });
        }
    }

    /**
     * The exchange fails: Keel logs {@code keelSays}, charon {@code charonSays}; no IKE SA is left
     * on charon and Keel never had a CHILD SA.
     */
    private void refused(NetnsTopology topo, PeerAuth.Certificates keelAuth, PeerAuth.Certificates charonAuth,
            boolean keelInitiates, String keelSays, String charonSays) throws Exception {
        try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                spec(topo.b(), topo.a(), IdType.FQDN, charonAuth, false), charonOptions());
                KeelGatewayProcess keel = KeelGatewayProcess.start(topo, topo.a(),
                        spec(topo.a(), topo.b(), IdType.FQDN, keelAuth, keelInitiates), work.resolve("keel"))) {
            KeelStrongSwanInteropTest.withLogs(charon, keel, () -> {
                if (!keelInitiates) {
                    assertThat(charon.initiate(WAIT).ok()).as("charon's initiate fails").isFalse();
                }
                keel.awaitLog(keelSays, WAIT);
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (!charon.log().contains(charonSays)) {
                    assertThat(System.nanoTime()).as("charon logs '%s'", charonSays).isLessThan(deadline);
                    Thread.sleep(50);
                }
                assertThat(charon.awaitSas(List::isEmpty, WAIT)).as("SAs left on charon").isEmpty();
                assertThat(keel.log()).doesNotContain("CHILD_SA ChildSa").doesNotContain("usable in the data plane");
            });
        }
    }

    private static ConnectionSpec spec(NetnsTopology.Site local, NetnsTopology.Site remote, IdType ids,
            PeerAuth.Certificates auth, boolean start) {
        return ConnectionSpec.psk(local, remote, UNUSED_PSK, IKE, ESP).withIdentities(ids.id(local), ids.id(remote))
                .withAuth(auth).withStartAction(start ? "start" : "none");
    }
}
