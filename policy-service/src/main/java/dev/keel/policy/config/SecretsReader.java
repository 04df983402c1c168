package dev.keel.policy.config;

import static dev.keel.policy.config.ConfigLoader.MAX_SECRET_BYTES;

import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.config.YamlText;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads {@code secrets}: each secret by reference, {@code file: PATH} or {@code env: VARIABLE},
 * never written into the configuration. Problems name the file or variable, never the value.
 */
final class SecretsReader {

    private static final Set<String> SECRET_KEYS = Set.of("file", "env");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");

    private final Nodes nodes;
    private final Problems problems;
    private final ConfigFiles files;
    private final Function<String, String> environment;
    private final Map<String, Secret> secrets = new LinkedHashMap<>();
    /** Every declared secret name, resolved or not, so a reference to a broken one isn't reported twice. */
    private final Set<String> declared = new HashSet<>();

    SecretsReader(Nodes nodes, ConfigFiles files, Function<String, String> environment) {
        this.nodes = nodes;
        this.problems = nodes.problems();
        this.files = files;
        this.environment = environment;
    }

    /** The secrets read, by name. */
    Map<String, Secret> resolved() {
        return secrets;
    }

    /** Every name under {@code secrets}, including those that could not be read. */
    Set<String> declared() {
        return declared;
    }

    /** Wipes every secret read (the load failed). */
    void clear() {
        secrets.values().forEach(Secret::clear);
    }

    /** Reads the {@code secrets} mapping. */
    void read(Node node) {
        Map<String, Node> entries = nodes.mapping(node, "secrets", null);
        if (entries == null) {
            return;
        }
        entries.forEach((name, value) -> {
            String path = "secrets." + name;
            declared.add(name);
            if (!ConfigReading.NAME.matcher(name).matches()) {
                problems.add(path, value, ConfigReading.nameRule("secret", name));
                return;
            }
            Map<String, Node> ref = nodes.mapping(value, path, SECRET_KEYS);
            if (ref == null) {
                return;
            }
            if (ref.isEmpty() && !((MappingNode) value).getValue().isEmpty()) {
                return; // only unknown keys, already reported
            }
            if (ref.size() != 1) {
                problems.add(path, value, ref.isEmpty()
                        ? "give the secret by reference: 'file: /path' or 'env: VARIABLE'"
                        : "give either 'file' or 'env', not both");
                return;
            }
            if (ref.containsKey("file")) {
                readSecretFile(name, path + ".file", ref.get("file"));
            } else {
                readSecretEnv(name, path + ".env", ref.get("env"));
            }
        });
    }

    private void readSecretFile(String name, String path, Node node) {
        Path file = nodes.file(node, path, files.baseDir());
        if (file == null) {
            return;
        }
        String refusal = files.refusal(file);
        if (refusal != null) {
            problems.add(path, node, "secret file " + refusal);
            return;
        }
        byte[] value;
        try {
            if (!Files.isRegularFile(file)) {
                problems.add(path, node, "secret file " + file + (Files.exists(file)
                        ? " is not a regular file" : " does not exist"));
                return;
            }
            if (Files.size(file) > MAX_SECRET_BYTES) {
                problems.add(path, node, "secret file " + file + " is larger than " + MAX_SECRET_BYTES
                        + " bytes");
                return;
            }
            value = Files.readAllBytes(file);
        } catch (IOException e) {
            problems.add(path, node, "secret file " + file + " cannot be read: " + YamlText.ioReason(e));
            return;
        }
        // A file written by `echo` ends in a newline that is not part of the key.
        int end = value.length;
        if (end > 0 && value[end - 1] == '\n') {
            end--;
            if (end > 0 && value[end - 1] == '\r') {
                end--;
            }
        }
        byte[] trimmed = Arrays.copyOf(value, end);
        Arrays.fill(value, (byte) 0);
        if (trimmed.length == 0) {
            problems.add(path, node, "secret file " + file + " is empty");
            return;
        }
        secrets.put(name, new Secret(name, "file " + file, trimmed));
        Arrays.fill(trimmed, (byte) 0);
    }

    private void readSecretEnv(String name, String path, Node node) {
        String variable = nodes.string(node, path);
        if (variable == null) {
            return;
        }
        if (!ENV_NAME.matcher(variable).matches()) {
            problems.add(path, node, "'" + variable + "' is not an environment variable name");
            return;
        }
        String value = environment.apply(variable);
        if (value == null) {
            problems.add(path, node, "environment variable " + variable + " is not set");
            return;
        }
        if (value.isEmpty()) {
            problems.add(path, node, "environment variable " + variable + " is empty");
            return;
        }
        secrets.put(name, new Secret(name, "env " + variable, value.getBytes(StandardCharsets.UTF_8)));
    }
}
