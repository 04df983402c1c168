package dev.keel.policy.config;

import dev.keel.core.config.Problems;
import dev.keel.core.config.YamlText;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Function;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Loads and validates a policy configuration (docs/configuration.md): YAML in swanctl's
 * vocabulary, secrets by reference, the SPD compiled and checked for conflicts.
 *
 * <p>One load reports every problem it finds, each with the file, the key path and the
 * position, and yields a configuration only when there are none. The YAML is composed into
 * nodes and read against a fixed schema; it is never constructed into Java objects, so no tag
 * can instantiate a type. Loading has no side effect but reading the file and the secrets.
 */
public final class ConfigLoader {

    /** Largest configuration file read: far above 10,000 connections, far below a memory problem. */
    public static final int MAX_CONFIG_BYTES = 16 << 20;
    /** Largest secret read (a PSK, or a private key in PEM). */
    public static final int MAX_SECRET_BYTES = 64 << 10;
    /**
     * Shortest pre-shared key accepted. RFC 7296 §2.15: the PSK should "contain as much
     * unpredictability as the strongest key being negotiated"; one IKE_AUTH to a rogue responder
     * gives an attacker what it needs to guess a short one offline (RFC 6617 §1).
     */
    public static final int MIN_PSK_BYTES = 20;

    /** IKE proposals when a connection lists none. */
    public static final String DEFAULT_IKE_PROPOSALS = "aes256gcm16-prfsha256-x25519, aes128gcm16-prfsha256-ecp256";
    /** ESP proposals when a child lists none: AEAD only, no PFS group (as strongSwan's default). */
    public static final String DEFAULT_ESP_PROPOSALS = "aes256gcm16, aes128gcm16";
    /** Default IKE SA rekey_time, as strongSwan: 4h. */
    public static final long DEFAULT_IKE_REKEY_SECONDS = 4 * 3600;
    /** Default child rekey_time, as strongSwan: 1h. */
    public static final long DEFAULT_REKEY_SECONDS = 3600;
    /** Default SPD priority of children and explicit policies. */
    public static final int DEFAULT_PRIORITY = 1000;

    private final Function<String, String> environment;

    /** A loader reading secrets from the process environment. */
    public ConfigLoader() {
        this(System::getenv);
    }

    /** A loader reading {@code env:} secrets through {@code environment} (a test's map, say). */
    public ConfigLoader(Function<String, String> environment) {
        this.environment = Objects.requireNonNull(environment, "environment");
    }

    /** Loads the file at {@code path}; relative secret files are resolved against its directory. */
    public ConfigResult loadFile(Path path) {
        return loadFile(path, ConfigFiles.under(YamlText.directoryOf(path)));
    }

    /** Loads the file at {@code path}, the files it names read as {@code files} allows. */
    public ConfigResult loadFile(Path path, ConfigFiles files) {
        Problems problems = new Problems(path.toString());
        String text = YamlText.readFile(path, MAX_CONFIG_BYTES, problems);
        if (text == null) {
            return new ConfigResult.Invalid(problems.list());
        }
        return load(path.toString(), text, files);
    }

    /**
     * Loads YAML text; {@code sourceName} names it in problems, and relative secret files are
     * resolved against the working directory.
     */
    public ConfigResult loadText(String sourceName, String yaml) {
        return loadText(sourceName, yaml, ConfigFiles.under(Path.of("").toAbsolutePath()));
    }

    /** Loads YAML text, the files it names read as {@code files} allows. */
    public ConfigResult loadText(String sourceName, String yaml, ConfigFiles files) {
        if (yaml.length() > MAX_CONFIG_BYTES) {
            Problems problems = new Problems(sourceName);
            problems.add("", (Node) null, "the text is longer than " + MAX_CONFIG_BYTES + " characters");
            return new ConfigResult.Invalid(problems.list());
        }
        return load(sourceName, yaml, files);
    }

    private ConfigResult load(String file, String text, ConfigFiles files) {
        Problems problems = new Problems(file);
        Node root = YamlText.compose(text, MAX_CONFIG_BYTES, problems,
                "; a configuration without connections is written 'connections: {}'");
        if (root == null) {
            return new ConfigResult.Invalid(problems.list());
        }
        return new ConfigReading(problems, files, environment).read(root);
    }
}
