package dev.keel.rpc;

import dev.keel.proto.v1.LogLevel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.Locale;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * One log record as one line: {@code 2026-12-06T14:03:01.123Z INFO  [ike] message}, a stack trace
 * below it when there is one; or, for log collectors, one JSON object per line with the same
 * fields ({@code time, level, subsystem, logger, thread, message, error}).
 */
final class LogLineFormat extends Formatter {

    private final boolean json;

    LogLineFormat(boolean json) {
        this.json = json;
    }

    @Override
    public String format(LogRecord r) {
        String time = Instant.ofEpochMilli(r.getMillis()).toString();
        String level = KeelLog.name(KeelLog.level(r.getLevel())).toUpperCase(Locale.ROOT);
        String subsystem = KeelLog.name(KeelLog.subsystemOf(r.getLoggerName()));
        String message = formatMessage(r);
        if (!json) {
            StringBuilder b = new StringBuilder(64 + message.length()).append(time).append(' ').append(level);
            b.append(" ".repeat(6 - level.length())).append('[').append(subsystem).append("] ").append(message);
            b.append(System.lineSeparator());
            if (r.getThrown() != null) {
                StringWriter trace = new StringWriter();
                r.getThrown().printStackTrace(new PrintWriter(trace));
                b.append(trace);
            }
            return b.toString();
        }
        StringBuilder b = new StringBuilder(128 + message.length()).append('{');
        field(b, "time", time).append(',');
        field(b, "level", level).append(',');
        field(b, "subsystem", subsystem).append(',');
        field(b, "logger", String.valueOf(r.getLoggerName())).append(',');
        field(b, "thread", Thread.currentThread().getName()).append(',');
        field(b, "message", message);
        if (r.getThrown() != null) {
            field(b.append(','), "error", r.getThrown().toString());
        }
        return b.append('}').append(System.lineSeparator()).toString();
    }

    /** The record's message with its parameters, and the exception's one-line form after it if any. */
    static String messageWithError(Formatter f, LogRecord r) {
        String m = f.formatMessage(r);
        return r.getThrown() == null ? m : m + " (" + r.getThrown() + ")";
    }

    /** The record's level as the API's. */
    static LogLevel level(LogRecord r) {
        return KeelLog.level(r.getLevel());
    }

    private static StringBuilder field(StringBuilder b, String name, String value) {
        b.append('"').append(name).append("\":\"");
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"');
    }
}
