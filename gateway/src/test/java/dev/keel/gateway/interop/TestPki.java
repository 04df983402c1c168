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

    private static void openssl(String... args) throws IOException {
        List<String> c = new java.util.ArrayList<>(List.of("openssl"));
        c.addAll(List.of(args));
        BoundedCommand.run(TIMEOUT, c).requireOk();
    }
}
