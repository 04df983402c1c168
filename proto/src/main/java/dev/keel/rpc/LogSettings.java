package dev.keel.rpc;

import dev.keel.core.config.Nodes;
import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogSubsystem;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.Node;

/**
 * How a Keel process logs: every subsystem's level and the line format. Written in YAML
 * ({@code logging: {level: info, subsystems: {ike: debug}, format: json}}) or on a command line
 * ({@code --log info,ike=debug --log-format json}).
 *
 * @param levels every subsystem's level (all of them present)
 * @param json   one JSON object per line instead of text
 */
public record LogSettings(Map<LogSubsystem, LogLevel> levels, boolean json) {

    /** INFO everywhere, text lines. */
    public static final LogSettings DEFAULT = of(LogLevel.LOG_LEVEL_INFO, Map.of(), false);

    public LogSettings {
        levels = Map.copyOf(levels);
    }

    /** Every subsystem at {@code level} except those {@code overrides} names. */
    public static LogSettings of(LogLevel level, Map<LogSubsystem, LogLevel> overrides, boolean json) {
        Map<LogSubsystem, LogLevel> all = new EnumMap<>(LogSubsystem.class);
        for (LogSubsystem s : KeelLog.SUBSYSTEMS) {
            all.put(s, overrides.getOrDefault(s, level));
        }
        return new LogSettings(all, json);
    }

    /**
     * Parses {@code info,ike=debug,net=warn}: an optional level for every subsystem, then
     * {@code subsystem=level} pairs.
     *
     * @throws IllegalArgumentException naming the part that is wrong and what is allowed
     */
    public static LogSettings parse(String spec, boolean json) {
        LogLevel all = LogLevel.LOG_LEVEL_INFO;
        Map<LogSubsystem, LogLevel> overrides = new EnumMap<>(LogSubsystem.class);
        for (String part : spec.split(",")) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            if (eq < 0) {
                all = level(p);
            } else {
                overrides.put(subsystem(p.substring(0, eq).strip()), level(p.substring(eq + 1).strip()));
            }
        }
        return of(all, overrides, json);
    }

    /**
     * Reads a configuration file's {@code logging:} section ({@code level}, {@code subsystems},
     * {@code format}); null when {@code nodes} recorded a problem.
     */
    public static LogSettings read(Nodes nodes, Node section, String path) {
        Map<String, Node> m = nodes.mapping(section, path, Set.of("level", "subsystems", "format"));
        if (m == null) {
            return null;
        }
        int before = nodes.problems().size();
        List<String> levelNames = KeelLog.LEVELS.stream().map(KeelLog::name).toList();
        LogLevel all = LogLevel.LOG_LEVEL_INFO;
        if (m.containsKey("level")) {
            String l = nodes.choice(m.get("level"), Nodes.child(path, "level"), levelNames);
            all = l == null ? all : level(l);
        }
        Map<LogSubsystem, LogLevel> overrides = new EnumMap<>(LogSubsystem.class);
        if (m.containsKey("subsystems")) {
            String sp = Nodes.child(path, "subsystems");
            Set<String> names = Set.copyOf(KeelLog.SUBSYSTEMS.stream().map(KeelLog::name).toList());
            Map<String, Node> subs = nodes.mapping(m.get("subsystems"), sp, names);
            if (subs != null) {
                subs.forEach((name, node) -> {
                    String l = nodes.choice(node, Nodes.child(sp, name), levelNames);
                    if (l != null) {
                        overrides.put(subsystem(name), level(l));
                    }
                });
            }
        }
        boolean json = false;
        if (m.containsKey("format")) {
            json = "json".equals(nodes.choice(m.get("format"), Nodes.child(path, "format"), List.of("text", "json")));
        }
        return nodes.problems().size() > before ? null : of(all, overrides, json);
    }

    /** The level named {@code name} (error, warn, info, debug, trace; any case). */
    public static LogLevel level(String name) {
        for (LogLevel l : KeelLog.LEVELS) {
            if (KeelLog.name(l).equalsIgnoreCase(name)) {
                return l;
            }
        }
        throw new IllegalArgumentException("unknown log level '" + name + "' (one of error, warn, info, debug, trace)");
    }

    /** The subsystem named {@code name} (ike, cfg, chd, net, esp, sad, knl, lib; any case). */
    public static LogSubsystem subsystem(String name) {
        for (LogSubsystem s : KeelLog.SUBSYSTEMS) {
            if (KeelLog.name(s).equalsIgnoreCase(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown log subsystem '" + name
                + "' (one of ike, cfg, chd, net, esp, sad, knl, lib)");
    }

    /** The format named {@code text} or {@code json}: true for JSON. */
    public static boolean json(String format) {
        return switch (format.toLowerCase(Locale.ROOT)) {
            case "text" -> false;
            case "json" -> true;
            default -> throw new IllegalArgumentException("unknown log format '" + format + "' (text or json)");
        };
    }
}
