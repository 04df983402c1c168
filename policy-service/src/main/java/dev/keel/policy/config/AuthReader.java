package dev.keel.policy.config;

import static dev.keel.policy.config.ConfigLoader.MIN_PSK_BYTES;

import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.config.YamlText;
import dev.keel.core.net.IpAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAKey;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads a connection's {@code local} and {@code remote}: the auth method, the identity, our
 * secret (by name, under {@code secrets}) and the certificate files, checked against each other.
 */
final class AuthReader {

    private static final Set<String> LOCAL_KEYS = Set.of("auth", "id", "secret", "certs");
    private static final Set<String> REMOTE_KEYS = Set.of("auth", "id", "cacerts", "crls");

    private final Nodes nodes;
    private final Problems problems;
    private final ConfigFiles files;
    private final SecretsReader secrets;

    AuthReader(Nodes nodes, ConfigFiles files, SecretsReader secrets) {
        this.nodes = nodes;
        this.problems = nodes.problems();
        this.files = files;
        this.secrets = secrets;
    }

    /** {@code local} (with our secret and certificates) or {@code remote}; null after a problem. */
    AuthConfig read(Node node, String path, boolean local, IpAddress single) {
        Map<String, Node> m = nodes.mapping(node, path, local ? LOCAL_KEYS : REMOTE_KEYS);
        if (m == null) {
            return null;
        }
        AuthMethod method = AuthMethod.PUBKEY;
        boolean rsaPss = false;
        if (m.containsKey("auth")) {
            // swanctl's rsa/pss: RSA signatures with RSASSA-PSS, which RFC 7427 §4 gives no way to announce
            String a = nodes.choice(m.get("auth"), path + ".auth", List.of("psk", "pubkey", "rsa/pss"));
            if (a == null) {
                return null;
            }
            method = a.equals("psk") ? AuthMethod.PSK : AuthMethod.PUBKEY;
            rsaPss = a.equals("rsa/pss");
        }
        String id;
        if (m.containsKey("id")) {
            id = nodes.string(m.get("id"), path + ".id");
            if (id == null) {
                return null;
            }
        } else if (single != null) {
            id = single.toString();
        } else if (local) {
            problems.add(path, node, "missing key 'id': local_addrs is not a single address to default to");
            return null;
        } else {
            id = "%any";
        }
        String secretRef = null;
        if (local) {
            if (!m.containsKey("secret")) {
                problems.add(path, node, "missing key 'secret': " + (method == AuthMethod.PSK
                        ? "the name of the pre-shared key" : "the name of the private key")
                        + " under 'secrets'");
                return null;
            }
            secretRef = nodes.string(m.get("secret"), path + ".secret");
            if (secretRef == null) {
                return null;
            }
            if (!secrets.declared().contains(secretRef)) {
                String hint = Nodes.suggest(secretRef, secrets.declared());
                problems.add(path + ".secret", m.get("secret"), "no secret named '" + secretRef
                        + "' under 'secrets'" + (hint != null ? "; did you mean '" + hint + "'?" : ""));
                return null;
            }
            Secret psk = method == AuthMethod.PSK ? secrets.resolved().get(secretRef) : null;
            if (psk != null && psk.length() < MIN_PSK_BYTES) {
                problems.add(path + ".secret", m.get("secret"), "pre-shared key '" + secretRef + "' ("
                        + psk.origin() + ") is " + psk.length() + " bytes; at least " + MIN_PSK_BYTES
                        + " are needed, random ones (e.g. `openssl rand -base64 32`): a short PSK can be guessed"
                        + " offline from one IKE_AUTH exchange");
                return null;
            }
        }
        List<X509Certificate> certs = List.of();
        List<X509Certificate> cacerts = List.of();
        String certKey = local ? "certs" : "cacerts";
        if (m.containsKey(certKey)) {
            if (method != AuthMethod.PUBKEY) {
                problems.add(path + "." + certKey, m.get(certKey), "'" + certKey + "' belongs to 'auth: pubkey';"
                        + " this side authenticates with a pre-shared key");
                return null;
            }
            List<X509Certificate> read = files(m.get(certKey), path + "." + certKey, "certificate",
                    PemCredentials::certificates);
            if (read == null) {
                return null;
            }
            if (local) {
                certs = read;
                if (!localCredentialsAgree(path, node, m, id, secretRef, certs.getFirst())) {
                    return null;
                }
                if (rsaPss && !(certs.getFirst().getPublicKey() instanceof RSAKey)) {
                    problems.add(path + ".auth", m.get("auth"), "'auth: rsa/pss' signs with RSASSA-PSS, but the"
                            + " end-entity certificate '" + PemCredentials.subject(certs.getFirst()) + "' (certs[0])"
                            + " holds a " + certs.getFirst().getPublicKey().getAlgorithm() + " key; use 'auth: pubkey'");
                    return null;
                }
            } else {
                cacerts = read;
            }
        }
        List<X509CRL> crls = List.of();
        if (m.containsKey("crls")) {
            if (method != AuthMethod.PUBKEY) {
                problems.add(path + ".crls", m.get("crls"), "'crls' belongs to 'auth: pubkey';"
                        + " this side authenticates with a pre-shared key");
                return null;
            }
            crls = files(m.get("crls"), path + ".crls", "CRL", PemCredentials::crls);
            if (crls == null) {
                return null;
            }
        }
        return new AuthConfig(method, id, secretRef, certs, cacerts, crls, rsaPss);
    }

    /**
     * Our private key belongs to our end-entity certificate, and our identity is in it; false
     * after reporting why not. Problems name the secret, never its content.
     */
    private boolean localCredentialsAgree(String path, Node node, Map<String, Node> m, String id, String secretRef,
            X509Certificate endEntity) {
        boolean ok = true;
        Secret secret = secrets.resolved().get(secretRef);
        if (secret != null) { // an unresolved secret is reported under 'secrets'
            Node at = m.get("secret");
            PrivateKey key = null;
            try {
                key = PemCredentials.privateKey(secret);
            } catch (IllegalArgumentException e) {
                problems.add(path + ".secret", at, e.getMessage());
                ok = false;
            }
            if (key != null && !PemCredentials.supportedKeyType(key)) {
                problems.add(path + ".secret", at, "secret '" + secretRef + "' holds a " + key.getAlgorithm()
                        + " key; Keel signs with RSA, ECDSA and Ed25519 keys");
                ok = false;
            } else if (key != null && !PemCredentials.keyMatches(key, endEntity.getPublicKey())) {
                problems.add(path + ".secret", at, "the private key of secret '" + secretRef + "' ("
                        + secret.origin() + ") does not belong to the end-entity certificate '"
                        + PemCredentials.subject(endEntity) + "' (certs[0])");
                ok = false;
            }
        }
        String problem = PemCredentials.identityProblem(id, endEntity);
        if (problem != null) {
            problems.add(path + ".id", m.getOrDefault("id", node), "identity '" + id + "' is not in the end-entity"
                    + " certificate: " + problem);
            ok = false;
        }
        return ok;
    }

    /** What one file holds. */
    private interface FileParser<T> {
        List<T> parse(byte[] content) throws PemCredentials.CredentialException;
    }

    /** Everything the listed files hold, in order; null after a problem. */
    private <T> List<T> files(Node node, String path, String kind, FileParser<T> parser) {
        List<List<T>> files = nodes.list(node, path, name -> file(name, kind, parser));
        return files == null ? null : files.stream().flatMap(List::stream).toList();
    }

    /** What one file holds. @throws IllegalArgumentException naming the file and what is wrong */
    private <T> List<T> file(String name, String kind, FileParser<T> parser) {
        Path file = files.baseDir().resolve(name);
        String refusal = files.refusal(file);
        if (refusal != null) {
            throw new IllegalArgumentException(kind + " file " + refusal);
        }
        try {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException(kind + " file " + file + (Files.exists(file)
                        ? " is not a regular file" : " does not exist"));
            }
            if (Files.size(file) > PemCredentials.MAX_CERT_FILE_BYTES) {
                throw new IllegalArgumentException(kind + " file " + file + " is larger than "
                        + PemCredentials.MAX_CERT_FILE_BYTES + " bytes");
            }
            return parser.parse(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new IllegalArgumentException(kind + " file " + file + " cannot be read: "
                    + YamlText.ioReason(e), e);
        } catch (PemCredentials.CredentialException e) {
            throw new IllegalArgumentException(kind + " file " + file + " " + e.getMessage(), e);
        }
    }
}
