package dev.keel.gateway.interop;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The SAs charon reports through {@code swanctl --list-sas --pretty}, parsed into records tests
 * can assert on. The pretty form is used (not {@code --raw}) because it puts one key per line, so
 * values with spaces (distinguished names) stay whole.
 */
public final class SwanctlSas {

    /** One CHILD_SA as vici's list-sas reports it; {@code raw} has every key. */
    public record ChildSa(String sectionName, String name, String state, String mode, String protocol,
            boolean encap, String spiIn, String spiOut, String encrAlg, int encrKeySize, String integAlg,
            long bytesIn, long packetsIn, long bytesOut, long packetsOut, List<String> localTs,
            List<String> remoteTs, Map<String, String> raw) {

        /** The ESP transform as swanctl's text form prints it, e.g. {@code AES_GCM_16-256} or {@code AES_CBC-128/HMAC_SHA2_256_128}. */
        public String proposal() {
            return encrAlg + (encrKeySize > 0 ? "-" + encrKeySize : "") + (integAlg.isEmpty() ? "" : "/" + integAlg);
        }
    }

    /** One IKE_SA as vici's list-sas reports it, with its CHILD_SAs; {@code raw} has every key. */
    public record IkeSa(String name, String uniqueId, String state, String localHost, String remoteHost,
            String localId, String remoteId, boolean initiator, String initiatorSpi, String responderSpi,
            String encrAlg, int encrKeySize, String integAlg, String prfAlg, String dhGroup, List<ChildSa> children,
            Map<String, String> raw) {

        /** The IKE transform as swanctl's text form prints it, e.g. {@code AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519}. */
        public String proposal() {
            return encrAlg + (encrKeySize > 0 ? "-" + encrKeySize : "") + (integAlg.isEmpty() ? "" : "/" + integAlg)
                    + "/" + prfAlg + "/" + dhGroup;
        }

        /** The CHILD_SA with config name {@code childName}, if any. */
        public Optional<ChildSa> child(String childName) {
            return children.stream().filter(c -> c.name().equals(childName)).findFirst();
        }
    }

    private SwanctlSas() {
    }

    /** A section of the pretty output: scalar keys, list keys and nested sections, in order. */
    private static final class Section {
        final Map<String, String> values = new LinkedHashMap<>();
        final Map<String, List<String>> lists = new LinkedHashMap<>();
        final Map<String, Section> sections = new LinkedHashMap<>();
    }

    /**
     * Parses the output of {@code swanctl --list-sas --pretty}; lines that are not part of a
     * {@code list-sa event} (log lines, the final reply) are ignored.
     *
     * @throws IllegalArgumentException naming the line when the structure is broken
     */
    public static List<IkeSa> parsePretty(String output) {
        List<IkeSa> sas = new ArrayList<>();
        Deque<Section> stack = new ArrayDeque<>();
        Section event = null;
        String listKey = null;
        List<String> listItems = null;
        int lineNo = 0;
        for (String line : output.split("\n")) {
            lineNo++;
            String t = line.strip();
            if (t.isEmpty()) {
                continue;
            }
            if (listItems != null) {
                if (t.equals("]")) {
                    stack.peek().lists.put(listKey, List.copyOf(listItems));
                    listItems = null;
                } else {
                    listItems.add(t);
                }
                continue;
            }
            if (t.endsWith(" {") || t.equals("{")) {
                String name = t.substring(0, t.length() - 1).strip();
                Section s = new Section();
                if (stack.isEmpty()) {
                    if (name.equals("list-sa event")) {
                        event = s;
                    }
                } else {
                    stack.peek().sections.put(name, s);
                }
                stack.push(s);
                continue;
            }
            if (t.equals("}")) {
                if (stack.isEmpty()) {
                    throw new IllegalArgumentException("line " + lineNo + ": '}' without an open section");
                }
                Section closed = stack.pop();
                if (stack.isEmpty() && closed == event) {
                    for (Map.Entry<String, Section> e : event.sections.entrySet()) {
                        sas.add(toIkeSa(e.getKey(), e.getValue()));
                    }
                    event = null;
                }
                continue;
            }
            int eq = t.indexOf(" = ");
            if (stack.isEmpty()) {
                continue; // swanctl log line outside any message
            }
            if (eq < 0) {
                throw new IllegalArgumentException("line " + lineNo + ": expected 'key = value', got '" + t + "'");
            }
            String key = t.substring(0, eq);
            String value = t.substring(eq + 3);
            if (value.equals("[")) {
                listKey = key;
                listItems = new ArrayList<>();
            } else {
                stack.peek().values.put(key, value);
            }
        }
        if (!stack.isEmpty() || listItems != null) {
            throw new IllegalArgumentException("output ends inside a section or list");
        }
        return List.copyOf(sas);
    }

    private static IkeSa toIkeSa(String name, Section s) {
        List<ChildSa> children = new ArrayList<>();
        Section cs = s.sections.get("child-sas");
        if (cs != null) {
            for (Map.Entry<String, Section> e : cs.sections.entrySet()) {
                children.add(toChildSa(e.getKey(), e.getValue()));
            }
        }
        Map<String, String> v = s.values;
        return new IkeSa(name, str(v, "uniqueid"), str(v, "state"), str(v, "local-host"), str(v, "remote-host"),
                str(v, "local-id"), str(v, "remote-id"), "yes".equals(v.get("initiator")), str(v, "initiator-spi"),
                str(v, "responder-spi"), str(v, "encr-alg"), (int) num(v, "encr-keysize"), str(v, "integ-alg"),
                str(v, "prf-alg"), str(v, "dh-group"), List.copyOf(children), Map.copyOf(v));
    }

    private static ChildSa toChildSa(String section, Section s) {
        Map<String, String> v = s.values;
        return new ChildSa(section, str(v, "name"), str(v, "state"), str(v, "mode"), str(v, "protocol"),
                "yes".equals(v.get("encap")), str(v, "spi-in"), str(v, "spi-out"), str(v, "encr-alg"),
                (int) num(v, "encr-keysize"), str(v, "integ-alg"), num(v, "bytes-in"), num(v, "packets-in"),
                num(v, "bytes-out"), num(v, "packets-out"), s.lists.getOrDefault("local-ts", List.of()),
                s.lists.getOrDefault("remote-ts", List.of()), Map.copyOf(v));
    }

    private static String str(Map<String, String> v, String key) {
        return v.getOrDefault(key, "");
    }

    /** The decimal value of {@code key}, or 0 when it is missing or not a number. */
    private static long num(Map<String, String> v, String key) {
        String s = v.get(key);
        return s != null && s.matches("\\d{1,18}") ? Long.parseLong(s) : 0;
    }
}
