package dev.keel.core.ts;

import dev.keel.core.net.ParseErrors;
import dev.keel.core.net.IpAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Operations on lists of traffic selectors: narrowing (RFC 7296 §2.9), subset checks, list text. */
public final class TrafficSelectors {

    /** Most selectors one TS payload can carry: its "Number of TSs" field is one octet (RFC 7296 §3.13). */
    public static final int MAX_PER_PAYLOAD = 255;

    private TrafficSelectors() {
    }

    /**
     * Narrows a peer's proposed selectors (one of TSi or TSr) to the configured ones, as a
     * responder does (RFC 7296 §2.9): every non-empty intersection of a configured selector with a
     * proposed one, in configured order then proposed order, with duplicates and selectors
     * contained in another result removed (as strongSwan does). An empty result means the policy
     * accepts no part of the proposal: answer TS_UNACCEPTABLE. TSi and TSr are narrowed
     * independently; picking the configuration (e.g. from the first, packet-specific selector)
     * is the caller's job.
     *
     * <p>Cost is O(proposed x configured x result); decoders cap proposed lists at
     * {@link #MAX_PER_PAYLOAD}, and this method rejects longer ones.
     *
     * @throws IllegalArgumentException if {@code proposed} has more than {@link #MAX_PER_PAYLOAD} entries
     */
    public static List<TrafficSelector> narrow(List<TrafficSelector> proposed, List<TrafficSelector> configured) {
        Objects.requireNonNull(proposed, "proposed");
        Objects.requireNonNull(configured, "configured");
        if (proposed.size() > MAX_PER_PAYLOAD) {
            throw new IllegalArgumentException("cannot narrow " + proposed.size()
                    + " proposed selectors; a TS payload carries at most " + MAX_PER_PAYLOAD);
        }
        List<TrafficSelector> out = new ArrayList<>();
        for (TrafficSelector c : configured) {
            for (TrafficSelector p : proposed) {
                Optional<TrafficSelector> i = c.intersect(p);
                if (i.isPresent()) {
                    addUnlessRedundant(out, i.get());
                }
            }
        }
        return List.copyOf(out);
    }

    private static void addUnlessRedundant(List<TrafficSelector> out, TrafficSelector ts) {
        for (TrafficSelector kept : out) {
            if (kept.contains(ts)) {
                return;
            }
        }
        out.removeIf(ts::contains);
        out.add(ts);
    }

    /**
     * Whether every selector of {@code narrowed} lies within some selector of {@code proposed}:
     * the initiator's check that a responder only narrowed what it proposed (RFC 7296 §2.9).
     * Conservative: a selector spanning two adjacent proposed ones is not accepted. An empty
     * {@code narrowed} list is trivially a subset; a CHILD_SA needs at least one selector.
     */
    public static boolean isSubsetOf(List<TrafficSelector> narrowed, List<TrafficSelector> proposed) {
        for (TrafficSelector n : narrowed) {
            if (!containedInAny(n, proposed)) {
                return false;
            }
        }
        return true;
    }

    private static boolean containedInAny(TrafficSelector ts, List<TrafficSelector> list) {
        for (TrafficSelector candidate : list) {
            if (candidate.contains(ts)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether any selector of {@code selectors} matches one side of a packet; allocation-free when
     * the list is random-access. See {@link TrafficSelector#matches(int, byte[], int, boolean, int)}.
     */
    public static boolean matchesAny(List<TrafficSelector> selectors, int protocol, byte[] addr, int addrOff,
            boolean ipv6, int port) {
        for (int i = 0, n = selectors.size(); i < n; i++) {
            if (selectors.get(i).matches(protocol, addr, addrOff, ipv6, port)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Parses a comma-separated swanctl list such as {@code 10.0.0.0/8, 2001:db8::/32[tcp/443]};
     * blanks around entries are ignored. See {@link TrafficSelector#parse(String)}.
     *
     * @throws IllegalArgumentException naming the entry and what is wrong with it
     */
    public static List<TrafficSelector> parseList(String text) {
        return parseList(text, null);
    }

    /** As {@link #parseList(String)}, resolving {@code dynamic} entries to {@code dynamicAddress}. */
    public static List<TrafficSelector> parseList(String text, IpAddress dynamicAddress) {
        Objects.requireNonNull(text, "text");
        List<TrafficSelector> out = new ArrayList<>();
        int start = 0;
        int index = 1;
        while (start <= text.length()) {
            int comma = text.indexOf(',', start);
            int end = comma < 0 ? text.length() : comma;
            String entry = text.substring(start, end).strip();
            if (entry.isEmpty()) {
                throw new IllegalArgumentException("invalid traffic selector list " + ParseErrors.quote(text)
                        + ": entry " + index + " is empty");
            }
            out.add(TrafficSelector.parse(entry, dynamicAddress));
            if (comma < 0) {
                break;
            }
            start = comma + 1;
            index++;
        }
        return List.copyOf(out);
    }

    /** The canonical text of each selector, joined with {@code ", "}; parses back with {@link #parseList}. */
    public static String format(List<TrafficSelector> selectors) {
        StringBuilder sb = new StringBuilder();
        for (TrafficSelector ts : selectors) {
            if (!sb.isEmpty()) {
                sb.append(", ");
            }
            sb.append(ts);
        }
        return sb.toString();
    }
}
