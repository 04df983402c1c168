package dev.keel.gateway.interop;

import dev.keel.esp.wire.BoundedCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A throw-away PKI made with the openssl command line (so the certificates and CRLs come from a
 * tool nobody here wrote), ECDSA P-256 unless a {@link KeyType} says otherwise:
 * {@code ca.crt}/{@code ca.key} and, per FQDN, {@code <fqdn>.crt}
 * (subjectAltName DNS:fqdn, signed by the CA) and {@code <fqdn>.key} (PKCS#8 PEM). One PKI per
 * directory: a second, untrusted CA goes into a directory of its own.
 */
final class TestPki {

    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private TestPki() {
    }

    /** The subject of the CA {@link #createCa(Path)} makes. */
    static final String CA_SUBJECT = "/O=Keel test/CN=Keel test CA";

    /** Key types openssl makes: genpkey's {@code -algorithm} and its {@code -pkeyopt}s. */
    enum KeyType {
        EC_P256("EC", "ec_paramgen_curve:P-256"),
        EC_P384("EC", "ec_paramgen_curve:P-384"),
        EC_P521("EC", "ec_paramgen_curve:P-521"),
        RSA_2048("RSA", "rsa_keygen_bits:2048"),
        ED25519("ED25519");

        private final String algorithm;
        private final List<String> options;

        KeyType(String algorithm, String... options) {
            this.algorithm = algorithm;
            this.options = List.of(options);
        }

        void generate(Path key) throws IOException {
            List<String> args = new java.util.ArrayList<>(List.of("genpkey", "-algorithm", algorithm));
            options.forEach(o -> args.addAll(List.of("-pkeyopt", o)));
            args.addAll(List.of("-out", key.toString()));
            openssl(args.toArray(String[]::new));
        }
    }

    static void createCa(Path dir) throws IOException {
        createCa(dir, CA_SUBJECT);
    }

    /** A CA with its own key and {@code subject} (another CA's subject makes a look-alike of it). */
    static void createCa(Path dir, String subject) throws IOException {
        createCa(dir, subject, KeyType.EC_P256);
    }

    /** A CA with its own key of {@code type}. */
    static void createCa(Path dir, String subject, KeyType type) throws IOException {
        String key = dir.resolve("ca.key").toString();
        type.generate(Path.of(key));
        openssl("req", "-x509", "-new", "-key", key, "-subj", subject, "-days", "2",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-out", dir.resolve("ca.crt").toString());
    }

    /**
     * {@code <name>.key} of {@code type} and {@code <name>.crt} for it, signed by the directory's
     * CA, with {@code subject} (openssl's {@code /O=.../CN=...}) and the openssl
     * {@code subjectAltName} value {@code san} (e.g. {@code DNS:gw-a.keel.test},
     * {@code email:gw-a@keel.test}, {@code IP:192.0.2.1}).
     */
    static void createLeaf(Path dir, String name, KeyType type, String subject, String san) throws IOException {
        Path key = dir.resolve(name + ".key");
        String csr = dir.resolve(name + ".csr").toString();
        Path ext = dir.resolve(name + ".ext");
        type.generate(key);
        openssl("req", "-new", "-key", key.toString(), "-subj", subject, "-out", csr);
        Files.writeString(ext, "subjectAltName=" + san + System.lineSeparator());
        openssl("x509", "-req", "-in", csr, "-CA", dir.resolve("ca.crt").toString(), "-CAkey",
                dir.resolve("ca.key").toString(), "-CAcreateserial", "-days", "2", "-extfile", ext.toString(),
                "-out", dir.resolve(name + ".crt").toString());
    }

    /**
     * {@code <crlName>.crl}: a CRL of the directory's CA (PEM, valid 2 days) listing the
     * certificates {@code <name>.crt} of {@code revoked} (none makes an empty one), made with
     * {@code openssl ca -revoke} and {@code -gencrl}.
     */
    static Path createCrl(Path dir, String crlName, List<String> revoked) throws IOException {
        Path db = Files.createDirectories(dir.resolve(crlName + ".db"));
        Files.writeString(db.resolve("index.txt"), "");
        Files.writeString(db.resolve("crlnumber"), "01\n");
        Path cnf = db.resolve("ca.cnf");
        Files.writeString(cnf, """
                [ca]
                default_ca = keel_test_ca
                [keel_test_ca]
                database = %s
                crlnumber = %s
                default_md = sha256
                default_crl_days = 2
                """.formatted(db.resolve("index.txt"), db.resolve("crlnumber")));
        String[] ca = {"-config", cnf.toString(), "-keyfile", dir.resolve("ca.key").toString(), "-cert",
                dir.resolve("ca.crt").toString()};
        for (String name : revoked) {
            List<String> args = new java.util.ArrayList<>(List.of("ca"));
            args.addAll(List.of(ca));
            args.addAll(List.of("-revoke", dir.resolve(name + ".crt").toString(), "-crl_reason", "keyCompromise"));
            openssl(args.toArray(String[]::new));
        }
        Path crl = dir.resolve(crlName + ".crl");
        List<String> args = new java.util.ArrayList<>(List.of("ca"));
        args.addAll(List.of(ca));
        args.addAll(List.of("-gencrl", "-out", crl.toString()));
        openssl(args.toArray(String[]::new));
        return crl;
    }

    static void createLeaf(Path dir, String fqdn) throws IOException {
        createLeaf(dir, fqdn, 2);
    }

    /**
     * A leaf valid for {@code days} from now; -1 makes one that has expired (openssl sets
     * notAfter a day before notBefore = now, so it is valid at no instant).
     */
    static void createLeaf(Path dir, String fqdn, int days) throws IOException {
        String key = dir.resolve(fqdn + ".key").toString();
        String csr = dir.resolve(fqdn + ".csr").toString();
        Path ext = dir.resolve(fqdn + ".ext");
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key);
        openssl("req", "-new", "-key", key, "-subj", "/O=Keel test/CN=" + fqdn, "-out", csr);
        Files.writeString(ext, "subjectAltName=DNS:" + fqdn + System.lineSeparator());
        openssl("x509", "-req", "-in", csr, "-CA", dir.resolve("ca.crt").toString(), "-CAkey",
                dir.resolve("ca.key").toString(), "-CAcreateserial", "-days", Integer.toString(days), "-extfile", ext.toString(),
                "-out", dir.resolve(fqdn + ".crt").toString());
    }

    /**
     * An RSA-4096 chain: a root ({@code ca.crt}, {@code ca.key}), an intermediate under it
     * ({@code mid.crt}, {@code mid.key}) and, per FQDN, a leaf under the intermediate
     * ({@code <fqdn>.crt}, {@code <fqdn>.key}): certificates large enough that an IKE_AUTH
     * carrying a chain needs more than one 1500-byte datagram.
     */
    static void createRsaChain(Path dir, List<String> fqdns) throws IOException {
        rsaKey(dir.resolve("ca.key"));
        openssl("req", "-x509", "-new", "-key", dir.resolve("ca.key").toString(), "-subj",
                "/O=Keel test/CN=Keel test RSA root", "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", dir.resolve("ca.crt").toString());
        issue(dir, "mid", "/O=Keel test/CN=Keel test RSA intermediate", "ca",
                "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign");
        for (String fqdn : fqdns) {
            issue(dir, fqdn, "/O=Keel test/CN=" + fqdn, "mid", "subjectAltName=DNS:" + fqdn);
        }
    }

    /** {@code <name>.key} (RSA 4096) and {@code <name>.crt} signed by {@code <issuer>.crt} with extensions {@code ext}. */
    private static void issue(Path dir, String name, String subject, String issuer, String ext) throws IOException {
        rsaKey(dir.resolve(name + ".key"));
        String csr = dir.resolve(name + ".csr").toString();
        Path extFile = dir.resolve(name + ".ext");
        openssl("req", "-new", "-key", dir.resolve(name + ".key").toString(), "-subj", subject, "-out", csr);
        Files.writeString(extFile, ext + "\n");
        openssl("x509", "-req", "-in", csr, "-CA", dir.resolve(issuer + ".crt").toString(), "-CAkey",
                dir.resolve(issuer + ".key").toString(), "-CAcreateserial", "-days", "2", "-extfile", extFile.toString(),
                "-out", dir.resolve(name + ".crt").toString());
    }

    private static void rsaKey(Path key) throws IOException {
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096", "-out", key.toString());
    }

    private static void openssl(String... args) throws IOException {
        List<String> c = new java.util.ArrayList<>(List.of("openssl"));
        c.addAll(List.of(args));
        BoundedCommand.run(TIMEOUT, c).requireOk();
    }
}
