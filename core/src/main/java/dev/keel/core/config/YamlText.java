package dev.keel.core.config;

import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.representer.Representer;

/**
 * Turns a configuration file into SnakeYAML's node tree, the same hardened way for every
 * service: a size limit, strict UTF-8, no recursive keys, at most 50 aliases (billion-laughs
 * guard), nesting depth 32, and never an object constructed from a tag.
 */
public final class YamlText {

    private YamlText() {
    }

    /**
     * The text of the file at {@code path}, or null with a problem added (for the whole file)
     * when it cannot be read, is larger than {@code maxBytes} or is not UTF-8.
     */
    public static String readFile(Path path, long maxBytes, Problems problems) {
        byte[] bytes;
        try {
            long size = Files.size(path);
            if (size > maxBytes) {
                problems.add("", (Node) null, "the file is " + size + " bytes; at most " + maxBytes + " are read");
                return null;
            }
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            problems.add("", (Node) null, "cannot read the file: " + ioReason(e));
            return null;
        }
        return utf8(bytes, problems);
    }

    /** The directory of {@code file}: relative paths inside the file resolve against it. */
    public static Path directoryOf(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        return parent == null ? Path.of("") : parent;
    }

    /** Why a file could not be read, in words and without the path (the caller names the file). */
    public static String ioReason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        return e.getClass().getSimpleName();
    }

    /** The bytes as UTF-8 text, or null with a problem added when they are not. */
    public static String utf8(byte[] bytes, Problems problems) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            problems.add("", (Node) null, "the file is not UTF-8 text");
            return null;
        }
    }

    /**
     * The root node of {@code text}, or null with a problem added when it is not YAML, is longer
     * than {@code maxCodePoints}, or is empty ({@code emptyHint} says what to write instead).
     */
    public static Node compose(String text, int maxCodePoints, Problems problems, String emptyHint) {
        Node root;
        try {
            root = yaml(maxCodePoints).compose(new StringReader(text));
        } catch (MarkedYAMLException e) {
            // The problem text and position only: SnakeYAML's full message quotes the file's lines.
            problems.add("", e.getProblemMark(), "invalid YAML: " + e.getProblem()
                    + (e.getContext() != null ? " (" + e.getContext() + ")" : ""));
            return null;
        } catch (YAMLException e) {
            problems.add("", (Node) null, "invalid YAML: " + e.getMessage());
            return null;
        }
        if (root == null) {
            problems.add("", (Node) null, "the file has no content" + emptyHint);
        }
        return root;
    }

    private static Yaml yaml(int maxCodePoints) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowRecursiveKeys(false);
        options.setMaxAliasesForCollections(50);
        options.setNestingDepthLimit(32);
        options.setCodePointLimit(maxCodePoints);
        options.setProcessComments(false);
        DumperOptions dumper = new DumperOptions();
        return new Yaml(new SafeConstructor(options), new Representer(dumper), dumper, options);
    }
}
