package dev.keel.gateway.interop;

import dev.keel.esp.wire.BoundedCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A throw-away ECDSA P-256 PKI made with the openssl command line (so the certificates come from
 * a tool nobody here wrote): {@code ca.crt}/{@code ca.key} and, per FQDN, {@code <fqdn>.crt}
 * (subjectAltName DNS:fqdn, signed by the CA) and {@code <fqdn>.key} (PKCS#8 PEM). One PKI per
 * directory: a second, untrusted CA goes into a directory of its own.
 */
final class TestPki {

    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private TestPki() {
    }

    /** The subject of the CA {@link #createCa(Path)} makes. */
    static final String CA_SUBJECT = "/O=Keel test/CN=Keel test CA";

    static void createCa(Path dir) throws IOException {
        createCa(dir, CA_SUBJECT);
    }

    /** A CA with its own key and {@code subject} (another CA's subject makes a look-alike of it). */
    static void createCa(Path dir, String subject) throws IOException {
        String key = dir.resolve("ca.key").toString();
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key);
        openssl("req", "-x509", "-new", "-key", key, "-subj", subject, "-days", "2",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-out", dir.resolve("ca.crt").toString());
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
