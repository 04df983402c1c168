package dev.keel.rpc;

import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogSubsystem;
import dev.keel.proto.v1.SubsystemLevel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/**
 * Keel's log subsystems, strongSwan's names over java.util.logging: which loggers each subsystem
 * holds, their levels (set at start and changed at runtime), one line per record on stderr (text
 * or JSON) and the live subscribers of the admin API's WatchLog ({@link LogTap}).
 *
 * <p>Every log of the process ends here: Keel's SLF4J loggers through slf4j-jdk14, its
 * System.Logger ones, Hazelcast's ({@code hazelcast.logging.type=jdk}), gRPC's and Netty's.
 */
public final class KeelLog {

    /** The subsystems, without UNSPECIFIED and UNRECOGNIZED. */
    public static final List<LogSubsystem> SUBSYSTEMS = Arrays.stream(LogSubsystem.values())
            .filter(s -> s != LogSubsystem.LOG_SUBSYSTEM_UNSPECIFIED && s != LogSubsystem.UNRECOGNIZED).toList();

    /** The levels from least to most verbose, without UNSPECIFIED and UNRECOGNIZED. */
    public static final List<LogLevel> LEVELS = Arrays.stream(LogLevel.values())
            .filter(l -> l != LogLevel.LOG_LEVEL_UNSPECIFIED && l != LogLevel.UNRECOGNIZED).toList();

    /**
     * Logger name prefixes of each subsystem; the longest prefix of a logger's name wins, and a
     * name no prefix matches is LIB (the root logger). A prefix is a package or a class name.
     */
    static final Map<String, LogSubsystem> PREFIXES = Map.ofEntries(
            Map.entry("dev.keel.ike", LogSubsystem.LOG_SUBSYSTEM_IKE),
            Map.entry("dev.keel.ike.net", LogSubsystem.LOG_SUBSYSTEM_NET),
            Map.entry("dev.keel.ike.config", LogSubsystem.LOG_SUBSYSTEM_CFG),
            Map.entry("dev.keel.ike.service.PolicyWatcher", LogSubsystem.LOG_SUBSYSTEM_CFG),
            Map.entry("dev.keel.ike.session.ChildSas", LogSubsystem.LOG_SUBSYSTEM_CHD),
            Map.entry("dev.keel.ike.task.ChildRekeyTask", LogSubsystem.LOG_SUBSYSTEM_CHD),
            Map.entry("dev.keel.ike.task.CreateChildSaTask", LogSubsystem.LOG_SUBSYSTEM_CHD),
            Map.entry("dev.keel.ike.engine.ChildLifetimes", LogSubsystem.LOG_SUBSYSTEM_CHD),
            Map.entry("dev.keel.ike.service.SadChildInstaller", LogSubsystem.LOG_SUBSYSTEM_CHD),
            Map.entry("dev.keel.ike.service.TrapAcquires", LogSubsystem.LOG_SUBSYSTEM_CHD),
            Map.entry("dev.keel.policy", LogSubsystem.LOG_SUBSYSTEM_CFG),
            Map.entry("dev.keel.gateway", LogSubsystem.LOG_SUBSYSTEM_CFG),
            Map.entry("dev.keel.esp", LogSubsystem.LOG_SUBSYSTEM_ESP),
            Map.entry("dev.keel.core", LogSubsystem.LOG_SUBSYSTEM_ESP),
            Map.entry("dev.keel.esp.net", LogSubsystem.LOG_SUBSYSTEM_NET),
            Map.entry("dev.keel.esp.acquire", LogSubsystem.LOG_SUBSYSTEM_CHD),
            Map.entry("dev.keel.esp.feed.SpdFeed", LogSubsystem.LOG_SUBSYSTEM_CFG),
            Map.entry("dev.keel.esp.feed", LogSubsystem.LOG_SUBSYSTEM_SAD),
            Map.entry("dev.keel.esp.tun", LogSubsystem.LOG_SUBSYSTEM_KNL),
            Map.entry("dev.keel.esp.sys", LogSubsystem.LOG_SUBSYSTEM_KNL),
            Map.entry("dev.keel.sad", LogSubsystem.LOG_SUBSYSTEM_SAD),
            Map.entry("com.hazelcast", LogSubsystem.LOG_SUBSYSTEM_SAD));

    /**
     * Loggers that print the bytes of messages, held at INFO whatever {@code lib}'s level: gRPC's
     * HTTP/2 frame loggers dump the first bytes of every DATA frame at DEBUG, and in the services
     * apart those frames carry the keys ike-service installs into sad-service.
     */
    static final List<String> MESSAGE_BYTE_LOGGERS = List.of(
            "io.grpc.netty.shaded.io.grpc.netty.NettyClientHandler",
            "io.grpc.netty.shaded.io.grpc.netty.NettyServerHandler");

    /**
     * The loggers whose levels Keel sets, held strongly: java.util.logging holds loggers weakly,
     * and a collected logger forgets its level.
     */
    private static final Map<String, Logger> HELD = new ConcurrentHashMap<>();
    private static final Map<String, LogSubsystem> BY_NAME = new ConcurrentHashMap<>();
    private static final LogTap TAP = new LogTap();
    private static final Map<LogSubsystem, LogLevel> LEVEL_NOW = new EnumMap<>(LogSubsystem.class);

    private KeelLog() {
    }

    /**
     * Makes {@code settings} the process's logging: replaces the root logger's handlers with one
     * stderr handler in the chosen format and the WatchLog tap, and sets every subsystem's level.
     */
    public static synchronized void install(LogSettings settings) {
        Logger root = LogManager.getLogManager().getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ConsoleHandler console = new ConsoleHandler();
        console.setLevel(Level.ALL);
        console.setFormatter(new LogLineFormat(settings.json()));
        root.addHandler(console);
        root.addHandler(TAP);
        MESSAGE_BYTE_LOGGERS.forEach(name -> hold(name).setLevel(Level.INFO));
        List<SubsystemLevel> all = new ArrayList<>();
        settings.levels().forEach((s, l) -> all.add(SubsystemLevel.newBuilder().setSubsystem(s).setLevel(l).build()));
        setLevels(all);
    }

    /** Sets the named subsystems' levels; answers every subsystem's level after the change. */
    public static synchronized List<SubsystemLevel> setLevels(List<SubsystemLevel> levels) {
        for (SubsystemLevel sl : levels) {
            if (!SUBSYSTEMS.contains(sl.getSubsystem()) || !LEVELS.contains(sl.getLevel())) {
                throw new IllegalArgumentException("a subsystem and a level are needed, got " + sl.getSubsystem()
                        + " = " + sl.getLevel());
            }
        }
        for (SubsystemLevel sl : levels) {
            Level jul = jul(sl.getLevel());
            LEVEL_NOW.put(sl.getSubsystem(), sl.getLevel());
            if (sl.getSubsystem() == LogSubsystem.LOG_SUBSYSTEM_LIB) {
                hold("").setLevel(jul);
            }
            PREFIXES.forEach((prefix, s) -> {
                if (s == sl.getSubsystem()) {
                    hold(prefix).setLevel(jul);
                }
            });
        }
        return levels();
    }

    /** Every subsystem's level now (INFO for those never set). */
    public static synchronized List<SubsystemLevel> levels() {
        List<SubsystemLevel> out = new ArrayList<>();
        for (LogSubsystem s : SUBSYSTEMS) {
            out.add(SubsystemLevel.newBuilder().setSubsystem(s)
                    .setLevel(LEVEL_NOW.getOrDefault(s, LogLevel.LOG_LEVEL_INFO)).build());
        }
        return out;
    }

    /** The subsystem a logger belongs to, by the longest matching prefix of its name. */
    public static LogSubsystem subsystemOf(String loggerName) {
        String name = loggerName == null ? "" : loggerName;
        return BY_NAME.computeIfAbsent(name, n -> {
            LogSubsystem best = LogSubsystem.LOG_SUBSYSTEM_LIB;
            int bestLength = -1;
            for (Map.Entry<String, LogSubsystem> e : PREFIXES.entrySet()) {
                String p = e.getKey();
                boolean matches = n.equals(p) || (n.startsWith(p) && n.charAt(p.length()) == '.');
                if (matches && p.length() > bestLength) {
                    best = e.getValue();
                    bestLength = p.length();
                }
            }
            return best;
        });
    }

    /** The WatchLog subscribers' tap on the root logger. */
    public static LogTap tap() {
        return TAP;
    }

    /** The level of a java.util.logging record. */
    public static LogLevel level(Level jul) {
        int v = jul.intValue();
        if (v >= Level.SEVERE.intValue()) {
            return LogLevel.LOG_LEVEL_ERROR;
        } else if (v >= Level.WARNING.intValue()) {
            return LogLevel.LOG_LEVEL_WARN;
        } else if (v >= Level.INFO.intValue()) {
            return LogLevel.LOG_LEVEL_INFO;
        } else if (v >= Level.FINE.intValue()) {
            return LogLevel.LOG_LEVEL_DEBUG;
        }
        return LogLevel.LOG_LEVEL_TRACE;
    }

    /** The java.util.logging threshold of a level: DEBUG is FINE (SLF4J's debug), TRACE everything below. */
    static Level jul(LogLevel level) {
        return switch (level) {
            case LOG_LEVEL_ERROR -> Level.SEVERE;
            case LOG_LEVEL_WARN -> Level.WARNING;
            case LOG_LEVEL_INFO -> Level.INFO;
            case LOG_LEVEL_DEBUG -> Level.FINE;
            default -> Level.ALL;
        };
    }

    /** The short lower-case name of a subsystem ("ike"). */
    public static String name(LogSubsystem s) {
        return s.name().substring("LOG_SUBSYSTEM_".length()).toLowerCase(Locale.ROOT);
    }

    /** The short lower-case name of a level ("debug"). */
    public static String name(LogLevel l) {
        return l.name().substring("LOG_LEVEL_".length()).toLowerCase(Locale.ROOT);
    }

    private static Logger hold(String name) {
        return HELD.computeIfAbsent(name, Logger::getLogger);
    }
}
