package dev.keel.gateway.ha;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The replies {@code ping -D} printed: per icmp_seq the reply's arrival (CLOCK_REALTIME, ping's
 * {@code [seconds.micros]} prefix) and round trip, and how many replies were duplicates
 * ({@code (DUP!)}: a request or reply delivered twice).
 */
final class PingLog {

    private static final Pattern REPLY = Pattern.compile(
            "^\\[(\\d+)\\.(\\d{6})\\] \\d+ bytes from \\S+ icmp_seq=(\\d+) .*time=([0-9.]+) ms( \\(DUP!\\))?");

    /** One reply: when it arrived and when its request left (arrival - round trip), nanoseconds. */
    record Reply(long arrivedNanos, long sentNanos) {
    }

    private final TreeMap<Integer, Reply> replies = new TreeMap<>();
    private int duplicates;

    static PingLog read(Path log) throws IOException {
        PingLog p = new PingLog();
        Files.readAllLines(log).forEach(p::add);
        return p;
    }

    void add(String line) {
        Matcher m = REPLY.matcher(line.replace(": icmp_seq", " icmp_seq"));
        if (!m.find()) {
            return;
        }
        long arrived = Long.parseLong(m.group(1)) * 1_000_000_000L + Long.parseLong(m.group(2)) * 1_000L;
        long rtt = (long) (Double.parseDouble(m.group(4)) * 1_000_000);
        if (m.group(5) != null) {
            duplicates++;
            return;
        }
        replies.putIfAbsent(Integer.parseInt(m.group(3)), new Reply(arrived, arrived - rtt));
    }

    /** Replies marked {@code (DUP!)}. */
    int duplicates() {
        return duplicates;
    }

    /** Replies received (duplicates not counted). */
    int replies() {
        return replies.size();
    }

    /**
     * Around a kill (signal at {@code killNanos}, victim gone at {@code goneNanos}): from the
     * kill to the first reply to a request sent after the victim was gone (-1 if none), and the
     * requests lost between the last answered one sent before then and that one.
     */
    record Window(long resumeNanos, int lost) {
    }

    /**
     * Requests lost among those sent from {@code fromNanos} to {@code toNanos}: the sequence
     * numbers between the first and the last answered one sent then that got no answer.
     */
    int lostBetween(long fromNanos, long toNanos) {
        List<Integer> sent = replies.entrySet().stream().filter(e -> e.getValue().sentNanos() >= fromNanos
                && e.getValue().sentNanos() <= toNanos).map(Map.Entry::getKey).toList();
        return sent.isEmpty() ? 0 : sent.getLast() - sent.getFirst() + 1 - sent.size();
    }

    /** Replies to requests sent from {@code fromNanos} to {@code toNanos}. */
    int repliesBetween(long fromNanos, long toNanos) {
        return (int) replies.values().stream().filter(r -> r.sentNanos() >= fromNanos && r.sentNanos() <= toNanos)
                .count();
    }

    Window around(long killNanos, long goneNanos) {
        Map.Entry<Integer, Reply> before = null;
        for (Map.Entry<Integer, Reply> e : replies.entrySet()) {
            if (e.getValue().sentNanos() <= goneNanos) {
                before = e;
            } else {
                int lost = before == null ? 0 : e.getKey() - before.getKey() - 1;
                return new Window(e.getValue().arrivedNanos() - killNanos, lost);
            }
        }
        return new Window(-1, 0);
    }
}
