package dev.keel.core.config;

import dev.keel.core.net.IpAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Typed reading of a composed YAML node tree. Every reader reports a problem (with the key path
 * and the node's position) and returns null rather than throwing, so one load finds every
 * problem. Nodes are never constructed into Java objects: no type tag can instantiate anything.
 */
public final class Nodes {

    /** One item of a list-valued key, with its own path and node. */
    public record Item(String text, String path, Node node) {
    }

    private final Problems problems;

    public Nodes(Problems problems) {
        this.problems = problems;
    }

    /** Where this reader reports, for the checks a section's reader makes itself. */
    public Problems problems() {
        return problems;
    }

    /** Whether {@code m} holds {@code key}; when not, reports {@code path.key: missing} at {@code parent}. */
    public boolean required(Map<String, Node> m, String key, String path, Node parent) {
        if (m.containsKey(key)) {
            return true;
        }
        problems.add(child(path, key), parent, "missing");
        return false;
    }

    public static String kind(Node n) {
        if (n instanceof MappingNode) {
            return "a mapping";
        }
        if (n instanceof SequenceNode) {
            return "a list";
        }
        Tag t = n.getTag();
        if (Tag.NULL.equals(t)) {
            return "nothing (null)";
        }
        if (Tag.BOOL.equals(t)) {
            return "a boolean";
        }
        if (Tag.INT.equals(t) || Tag.FLOAT.equals(t)) {
            return "a number";
        }
        return "a string";
    }

    /**
     * The keys of a mapping in order. Reports a node that is not a mapping, keys that are not
     * plain strings, duplicate keys, and keys outside {@code allowed} (with a suggestion).
     * Returns null when the node is not a mapping.
     */
    public Map<String, Node> mapping(Node node, String path, Set<String> allowed) {
        if (!(node instanceof MappingNode m)) {
            problems.add(path, node, "expected a mapping of keys to values, found " + kind(node));
            return null;
        }
        Map<String, Node> out = new LinkedHashMap<>();
        for (NodeTuple t : m.getValue()) {
            Node k = t.getKeyNode();
            if (!(k instanceof ScalarNode sk)) {
                problems.add(path, k, "a key must be a plain string, found " + kind(k));
                continue;
            }
            String key = sk.getValue();
            String keyPath = child(path, key);
            if (out.containsKey(key)) {
                problems.add(keyPath, k, "duplicate key '" + key + "'");
                continue;
            }
            if (allowed != null && !allowed.contains(key)) {
                String hint = suggest(key, allowed);
                problems.add(keyPath, k, "unknown key '" + key + "'"
                        + (hint != null ? "; did you mean '" + hint + "'?" : "; expected one of " + sorted(allowed)));
                continue;
            }
            out.put(key, t.getValueNode());
        }
        return out;
    }

    /** A scalar's text (any scalar but null: {@code 2} or {@code yes} as written). */
    public String string(Node node, String path) {
        if (node instanceof ScalarNode s && !Tag.NULL.equals(s.getTag())) {
            if (s.getValue().isEmpty()) {
                problems.add(path, node, "must not be empty");
                return null;
            }
            return s.getValue();
        }
        problems.add(path, node, "expected a string, found " + kind(node));
        return null;
    }

    /**
     * A file name resolved against {@code baseDir}, or null with a problem added when the node is
     * no non-empty string or names no path this system can have (a NUL character, say).
     */
    public Path file(Node node, String path, Path baseDir) {
        String text = string(node, path);
        if (text == null) {
            return null;
        }
        try {
            return baseDir.resolve(text);
        } catch (InvalidPathException e) {
            problems.add(path, node, "not a file name: " + e.getReason());
            return null;
        }
    }

    /** An integer in {@code [min, max]}; a quoted number is not an integer. */
    public Long integer(Node node, String path, long min, long max) {
        if (!(node instanceof ScalarNode s) || !Tag.INT.equals(s.getTag())) {
            problems.add(path, node, "expected a whole number, found " + kind(node));
            return null;
        }
        long v;
        try {
            v = Long.parseLong(s.getValue().replace("_", ""));
        } catch (NumberFormatException e) {
            problems.add(path, node, "'" + s.getValue() + "' is not a decimal whole number");
            return null;
        }
        if (v < min || v > max) {
            problems.add(path, node, v + " is out of range " + min + "-" + max);
            return null;
        }
        return v;
    }

    /** A YAML boolean (true/false, yes/no, on/off). */
    public Boolean bool(Node node, String path) {
        if (node instanceof ScalarNode s && Tag.BOOL.equals(s.getTag())) {
            String v = s.getValue().toLowerCase(Locale.ROOT);
            return v.equals("true") || v.equals("yes") || v.equals("on") || v.equals("y");
        }
        problems.add(path, node, "expected true or false, found " + kind(node));
        return null;
    }

    /** One of {@code choices} (case-insensitive), returned lower-case. */
    public String choice(Node node, String path, List<String> choices) {
        String s = string(node, path);
        if (s == null) {
            return null;
        }
        String v = s.toLowerCase(Locale.ROOT);
        if (!choices.contains(v)) {
            problems.add(path, node, "'" + s + "' is not one of " + String.join(", ", choices));
            return null;
        }
        return v;
    }

    /** A duration in seconds (see {@link Units}); a plain number is seconds. */
    public Long duration(Node node, String path) {
        String s = scalarText(node, path, "a duration such as 30s, 10m or 1h");
        if (s == null) {
            return null;
        }
        try {
            return Units.seconds(s);
        } catch (IllegalArgumentException e) {
            problems.add(path, node, e.getMessage());
            return null;
        }
    }

    /** A byte size (see {@link Units}). */
    public Long bytes(Node node, String path) {
        String s = scalarText(node, path, "a size such as 1000000, 512K or 1G");
        if (s == null) {
            return null;
        }
        try {
            return Units.bytes(s);
        } catch (IllegalArgumentException e) {
            problems.add(path, node, e.getMessage());
            return null;
        }
    }

    /**
     * An IP endpoint, {@code address:port} or {@code [v6]:port}; see {@link #endpoint(String, int)}.
     * Null (with a problem) when it is not one.
     */
    public InetSocketAddress endpoint(Node node, String path, int defaultPort) {
        String s = string(node, path);
        if (s == null) {
            return null;
        }
        try {
            return endpoint(s, defaultPort);
        } catch (IllegalArgumentException e) {
            problems.add(path, node, e.getMessage());
            return null;
        }
    }

    /**
     * {@code address:port}, {@code [v6]:port}, or the bare address when {@code defaultPort} is
     * 0-65535 (-1: the port is required). The address is an IP literal: Keel does not resolve
     * host names.
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    public static InetSocketAddress endpoint(String text, int defaultPort) {
        String host = text;
        int port = defaultPort;
        int colon = text.lastIndexOf(':');
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("'" + text + "' opens '[' without closing it");
            }
            host = text.substring(1, close);
            String rest = text.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    throw new IllegalArgumentException("'" + text + "': expected ':port' after ']'");
                }
                port = port(rest.substring(1));
            }
        } else if (colon >= 0 && text.indexOf(':') == colon) {
            host = text.substring(0, colon);
            port = port(text.substring(colon + 1));
        }
        if (port < 0) {
            throw new IllegalArgumentException("'" + text + "' needs a port, e.g. " + host + ":4500");
        }
        IpAddress a = IpAddress.parse(host);
        try {
            return new InetSocketAddress(InetAddress.getByAddress(a.bytes()), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + host + "' is not an IP address");
        }
    }

    private static int port(String text) {
        try {
            int p = Integer.parseInt(text);
            if (p >= 0 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("port '" + text + "' is not a number 0-65535");
    }

    private String scalarText(Node node, String path, String expected) {
        if (node instanceof ScalarNode s && (Tag.STR.equals(s.getTag()) || Tag.INT.equals(s.getTag()))) {
            return s.getValue();
        }
        problems.add(path, node, "expected " + expected + ", found " + kind(node));
        return null;
    }

    /**
     * A list of strings, written as a YAML list or, as in swanctl, one comma-separated string.
     * Item paths are {@code path[i]}, 0-based. Null (with a problem) for anything else or an
     * empty list.
     */
    public List<Item> list(Node node, String path) {
        List<Item> out = new ArrayList<>();
        if (node instanceof SequenceNode seq) {
            int i = 0;
            for (Node n : seq.getValue()) {
                String p = path + "[" + i++ + "]";
                String s = string(n, p);
                if (s != null) {
                    out.add(new Item(s.strip(), p, n));
                }
            }
        } else if (node instanceof ScalarNode s && !Tag.NULL.equals(s.getTag())) {
            String[] parts = s.getValue().split(",", -1);
            for (int i = 0; i < parts.length; i++) {
                String p = path + "[" + i + "]";
                String part = parts[i].strip();
                if (part.isEmpty()) {
                    problems.add(p, node, "empty entry in the comma-separated list");
                } else {
                    out.add(new Item(part, p, node));
                }
            }
        } else {
            problems.add(path, node, "expected a list (or a comma-separated string), found " + kind(node));
            return null;
        }
        if (out.isEmpty() && node instanceof SequenceNode sq && sq.getValue().isEmpty()) {
            problems.add(path, node, "must not be empty");
            return null;
        }
        return out;
    }

    /**
     * The items of the list at {@code path} (as {@link #list(Node, String)} reads it), each parsed by
     * {@code parse}; null after reporting, at the item's own path, every item {@code parse} refuses
     * with an {@link IllegalArgumentException} (its message).
     */
    public <T> List<T> list(Node node, String path, Function<String, T> parse) {
        List<Item> items = list(node, path);
        if (items == null) {
            return null;
        }
        List<T> out = new ArrayList<>();
        boolean ok = true;
        for (Item i : items) {
            try {
                out.add(parse.apply(i.text()));
            } catch (IllegalArgumentException e) {
                problems.add(i.path(), i.node(), e.getMessage());
                ok = false;
            }
        }
        return ok ? out : null;
    }

    public static String child(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    /** The allowed key closest to {@code key} by edit distance, if close enough to be a typo. */
    public static String suggest(String key, Set<String> allowed) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String a : allowed) {
            int d = distance(key.toLowerCase(Locale.ROOT), a);
            if (d < bestDistance || d == bestDistance && best != null && a.compareTo(best) < 0) {
                best = a;
                bestDistance = d;
            }
        }
        int limit = Math.max(1, Math.min(3, key.length() / 3));
        return bestDistance <= limit ? best : null;
    }

    private static String sorted(Set<String> keys) {
        return String.join(", ", new java.util.TreeSet<>(keys));
    }

    /** Optimal string alignment distance: Levenshtein plus adjacent transpositions. */
    public static int distance(String a, String b) {
        if (a.length() > 64 || b.length() > 64) {
            return Integer.MAX_VALUE; // no key is that long; not a typo
        }
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
