package dev.keel.rpc;

import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.LogSubsystem;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.SimpleFormatter;

/**
 * The live subscribers of the process's log (the admin API's WatchLog): each gets the records at
 * or above its level of the subsystems it asked for, as {@link LogLine}s. A record is built into a
 * line only when someone listens. Subscribers must not block: they are called on the logging thread.
 */
public final class LogTap extends Handler {

    private final List<Subscriber> subscribers = new CopyOnWriteArrayList<>();
    private final Formatter messages = new SimpleFormatter();

    LogTap() {
    }

    /** Starts delivering lines at or above {@code level} of {@code subsystems} (empty: all); close to stop. */
    public AutoCloseable subscribe(LogLevel level, Set<LogSubsystem> subsystems, Consumer<LogLine> lines) {
        Subscriber s = new Subscriber(level.getNumber(), Set.copyOf(subsystems), lines);
        subscribers.add(s);
        return () -> subscribers.remove(s);
    }

    /** How many subscribers there are (WatchLog streams open). */
    public int subscribers() {
        return subscribers.size();
    }

    @Override
    public void publish(LogRecord r) {
        if (subscribers.isEmpty()) {
            return;
        }
        int level = LogLineFormat.level(r).getNumber();
        LogSubsystem subsystem = KeelLog.subsystemOf(r.getLoggerName());
        LogLine line = null;
        for (Subscriber s : subscribers) {
            // Levels are numbered from least to most verbose (ERROR = 1 ... TRACE = 5).
            if (level <= s.level && (s.subsystems.isEmpty() || s.subsystems.contains(subsystem))) {
                if (line == null) {
                    line = LogLine.newBuilder().setTimeMillis(r.getMillis()).setSubsystem(subsystem)
                            .setLevel(LogLineFormat.level(r)).setMessage(LogLineFormat.messageWithError(messages, r))
                            .build();
                }
                s.lines.accept(line);
            }
        }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }

    private record Subscriber(int level, Set<LogSubsystem> subsystems, Consumer<LogLine> lines) {
    }
}
