package dev.keel.rpc;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** A service main's logging options ({@code --log}, {@code --log-format}), a picocli mixin. */
public final class LogOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--log", paramLabel = "LEVELS", defaultValue = "${env:KEEL_LOG:-info}",
            description = "log levels: one for every subsystem, then subsystem=level pairs, e.g. info,ike=debug"
                    + " (subsystems ike, cfg, chd, net, esp, sad, knl, lib; levels error, warn, info, debug, trace;"
                    + " default: $KEEL_LOG or info)")
    String levels;

    @Option(names = "--log-format", paramLabel = "FORMAT", defaultValue = "${env:KEEL_LOG_FORMAT:-text}",
            description = "text, or json for one JSON object per line (default: $KEEL_LOG_FORMAT or text)")
    String format;

    /**
     * For a main without picocli: takes {@code --log} and {@code --log-format} (either {@code
     * --opt v} or {@code --opt=v}) out of {@code args}, moving every other argument to {@code
     * rest}; the environment's defaults as for the options.
     *
     * @throws IllegalArgumentException naming the option and what is wrong with its value
     */
    public static LogSettings take(String[] args, java.util.List<String> rest) {
        String levels = System.getenv().getOrDefault("KEEL_LOG", "info");
        String format = System.getenv().getOrDefault("KEEL_LOG_FORMAT", "text");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            int eq = a.indexOf('=');
            String name = a.startsWith("--") && eq > 0 ? a.substring(0, eq) : a;
            if (!name.equals("--log") && !name.equals("--log-format")) {
                rest.add(a);
                continue;
            }
            String v;
            if (eq > 0 && a.startsWith("--")) {
                v = a.substring(eq + 1);
            } else if (++i < args.length) {
                v = args[i];
            } else {
                throw new IllegalArgumentException(name + ": missing value");
            }
            if (name.equals("--log")) {
                levels = v;
            } else {
                format = v;
            }
        }
        try {
            return LogSettings.parse(levels, LogSettings.json(format));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--log / --log-format: " + e.getMessage(), e);
        }
    }

    /** Installs the options' logging ({@link KeelLog#install}); a bad value is a usage error naming the option. */
    public void install() {
        LogSettings settings;
        try {
            settings = LogSettings.parse(levels, LogSettings.json(format));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--log / --log-format: " + e.getMessage());
        }
        KeelLog.install(settings);
    }
}
