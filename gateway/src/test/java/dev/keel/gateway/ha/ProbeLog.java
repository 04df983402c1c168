package dev.keel.gateway.ha;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What udp_probe.py recorded: per sequence number, when the sender sent it ({@code S}), every
 * time the echo host received it ({@code E}, and sent the echo) and every time the sender got the
 * echo back ({@code R}); times are CLOCK_REALTIME nanoseconds. Duplicates are kept: a sequence
 * number delivered twice in either direction is an inner packet delivered twice.
 */
final class ProbeLog {

    private final Map<Long, Long> sent = new HashMap<>();
    private final Map<Long, long[]> echoed = new HashMap<>();
    private final Map<Long, long[]> returned = new HashMap<>();

    /** Reads the sender's log ({@code S}, {@code R} lines) and the echo host's ({@code E} lines). */
    static ProbeLog read(Path senderLog, Path echoLog) throws IOException {
        ProbeLog p = new ProbeLog();
        try (Stream<String> lines = Stream.concat(Files.lines(senderLog), Files.lines(echoLog))) {
            lines.forEach(p::add);
        }
        return p;
    }

    /** Adds one log line; a line cut short by the process's end is ignored. */
    void add(String line) {
        String[] f = line.split(" ");
        if (f.length != 3 || f[0].length() != 1) {
            return;
        }
        long seq;
        long t;
        try {
            seq = Long.parseLong(f[1]);
            t = Long.parseLong(f[2]);
        } catch (NumberFormatException e) {
            return;
        }
        switch (f[0]) {
            case "S" -> sent.put(seq, t);
            case "E" -> echoed.merge(seq, new long[] {t}, ProbeLog::append);
            case "R" -> returned.merge(seq, new long[] {t}, ProbeLog::append);
            default -> { }
        }
    }

    private static long[] append(long[] a, long[] b) {
        long[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** Packets sent. */
    int sent() {
        return sent.size();
    }

    /** Sequence numbers the echo host received more than once. */
    List<Long> forwardDuplicates() {
        return echoed.entrySet().stream().filter(e -> e.getValue().length > 1).map(Map.Entry::getKey).sorted().toList();
    }

    /** Sequence numbers whose echo the sender received more than once. */
    List<Long> returnDuplicates() {
        return returned.entrySet().stream().filter(e -> e.getValue().length > 1).map(Map.Entry::getKey).sorted()
                .toList();
    }

    /**
     * How the probe fared around a kill: the signal went out at {@code killNanos}, the process
     * was gone at {@code goneNanos}. A process killed with SIGKILL may still pass the packets it
     * holds while it dies, so resumption counts only packets sent once it was gone: those can
     * only have passed the survivor. Times are from the signal.
     *
     * @param forwardResumeNanos from the kill to the first arrival at the echo host of a packet sent
     *     after the victim was gone; -1 if none arrived within the window
     * @param returnResumeNanos from the kill to the first arrival at the sender of an echo sent
     *     after the victim was gone; -1 if none
     * @param forwardLost packets sent in the window that never reached the echo host
     * @param returnLost echoes sent in the window that never reached the sender
     */
    record Window(long forwardResumeNanos, long returnResumeNanos, int forwardLost, int returnLost) {

        /** Traffic flows both ways again: the later of the two resumptions; -1 if either never did. */
        long resumeNanos() {
            return forwardResumeNanos < 0 || returnResumeNanos < 0 ? -1
                    : Math.max(forwardResumeNanos, returnResumeNanos);
        }
    }

    /** The figures of the window [{@code killNanos}, {@code killNanos + afterNanos}]. */
    Window around(long killNanos, long goneNanos, long afterNanos) {
        long end = killNanos + afterNanos;
        long forward = Long.MAX_VALUE;
        int forwardLost = 0;
        for (Map.Entry<Long, Long> s : sent.entrySet()) {
            long t = s.getValue();
            if (t <= killNanos || t > end) {
                continue;
            }
            long[] e = echoed.get(s.getKey());
            if (e == null) {
                forwardLost++;
            } else if (t > goneNanos) {
                forward = Math.min(forward, e[0]);
            }
        }
        long back = Long.MAX_VALUE;
        int returnLost = 0;
        for (Map.Entry<Long, long[]> e : echoed.entrySet()) {
            long t = e.getValue()[0];
            if (t <= killNanos || t > end) {
                continue;
            }
            long[] r = returned.get(e.getKey());
            if (r == null) {
                returnLost++;
            } else if (t > goneNanos) {
                back = Math.min(back, r[0]);
            }
        }
        return new Window(forward == Long.MAX_VALUE ? -1 : forward - killNanos,
                back == Long.MAX_VALUE ? -1 : back - killNanos, forwardLost, returnLost);
    }
}
