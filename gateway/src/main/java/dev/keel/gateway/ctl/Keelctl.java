package dev.keel.gateway.ctl;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import dev.keel.proto.v1.CertInfo;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ConfigSource;
import dev.keel.proto.v1.Connection;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.InitiateRequest;
import dev.keel.proto.v1.ListCertsRequest;
import dev.keel.proto.v1.ListCertsResponse;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListChildSasResponse;
import dev.keel.proto.v1.ListConnectionsRequest;
import dev.keel.proto.v1.ListConnectionsResponse;
import dev.keel.proto.v1.ListIkeSasRequest;
import dev.keel.proto.v1.ListIkeSasResponse;
import dev.keel.proto.v1.ListPoliciesRequest;
import dev.keel.proto.v1.ListPoliciesResponse;
import dev.keel.proto.v1.LoadConfigRequest;
import dev.keel.proto.v1.LoadConfigResponse;
import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.LogSubsystem;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.RekeyRequest;
import dev.keel.proto.v1.RekeyResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.SetLogLevelsRequest;
import dev.keel.proto.v1.SetLogLevelsResponse;
import dev.keel.proto.v1.SpdEntry;
import dev.keel.proto.v1.StatsRequest;
import dev.keel.proto.v1.StatsResponse;
import dev.keel.proto.v1.SubsystemLevel;
import dev.keel.proto.v1.TerminateRequest;
import dev.keel.proto.v1.TerminateResponse;
import dev.keel.proto.v1.WatchLogRequest;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code keelctl}: Keel's swanctl. Lists, initiates, terminates and rekeys a node's SAs, loads its
 * configuration and follows its log through the node's gRPC admin API (keel.v1.IkeService,
 * PolicyService, SaService), printing what swanctl prints in the shape swanctl prints it
 * (docs/operations.md, "keelctl").
 */
@Command(name = "keelctl", mixinStandardHelpOptions = true, versionProvider = Keelctl.Version.class,
        sortOptions = false, usageHelpAutoWidth = true,
        customSynopsis = {"keelctl COMMAND [OPTIONS]   e.g. keelctl --list-sas, keelctl --initiate --child net"},
        description = "Keel's swanctl: a node's SAs, connections, policies, certificates, statistics and log, through"
                + " its gRPC admin API.",
        footer = {"", "Exit status: 0 done, 1 the operation failed, 2 usage error, 3 cannot reach the node (or TLS"
                + " failed), 4 permission denied.", "Every command with its output: docs/operations.md."})
public final class Keelctl implements Callable<Integer> {

    /** Unary calls that only read. */
    private static final long READ_DEADLINE_SECONDS = 30;
    /** What initiate, terminate and rekey wait beyond the node's own timeout before giving up on it. */
    private static final long GRACE_SECONDS = 15;
    private static final int SAD_PAGE = 1000;
    private static final int MAX_TIMEOUT_SECONDS = 86_400;

    /** One of these, as swanctl takes one command. */
    static final class Commands {
        @Option(names = {"-l", "--list-sas"}, description = "list IKE SAs and their CHILD SAs [--ike NAME] [--ike-id N]")
        boolean listSas;
        @Option(names = {"-L", "--list-conns"}, description = "list the loaded connections")
        boolean listConns;
        @Option(names = {"-P", "--list-pols"}, description = "list the SPD, in lookup order [--ike NAME]")
        boolean listPols;
        @Option(names = {"-x", "--list-certs"}, description = "list the node's certificates and trusted CAs")
        boolean listCerts;
        @Option(names = "--list-sad", description = "list the CHILD SA records of the SAD, one a line [--ike NAME]")
        boolean listSad;
        @Option(names = {"-i", "--initiate"},
                description = "start a CHILD SA (and its IKE SA), printing the node's log of it: --child NAME"
                        + " [--ike NAME] [--timeout S] [--level L]")
        boolean initiate;
        @Option(names = {"-t", "--terminate"}, description = "delete IKE SAs or CHILD SAs, telling the peer:"
                + " --ike NAME | --ike-id N | --child NAME | --child-id N [--timeout S]")
        boolean terminate;
        @Option(names = {"-R", "--rekey"}, description = "rekey an IKE SA or CHILD SA now: --ike NAME | --ike-id N |"
                + " --child NAME | --child-id N [--reauth] [--timeout S]")
        boolean rekey;
        @Option(names = {"-q", "--load-all"}, description = "load a configuration (YAML) and run it: --file PATH"
                + " (read here) | --remote-path PATH (read by the node)")
        boolean loadAll;
        @Option(names = {"-c", "--load-conns"}, description = "the same as --load-all: Keel loads connections,"
                + " secrets and policies from one file")
        boolean loadConns;
        @Option(names = {"-S", "--stats"}, description = "show the node's uptime, SA counts and IKE counters")
        boolean stats;
        @Option(names = {"-T", "--log"}, description = "follow the node's log until Ctrl-C [--level L]"
                + " [--subsystem S,...]")
        boolean log;
        @Option(names = "--loglevel", paramLabel = "SUBSYS=LEVEL", split = ",", arity = "1..*",
                description = "set subsystems' log levels (e.g. ike=debug,cfg=info); prints every level after")
        List<String> logLevels;
        @Option(names = "--completion", description = "print the bash completion script")
        boolean completion;
    }

    @ArgGroup(exclusive = true, multiplicity = "1", heading = "Commands:%n", order = 1)
    Commands commands;

    /** What the commands act on and how. */
    static final class Selectors {
        @Option(names = "--ike", paramLabel = "NAME", order = 10,
                description = "a connection: its IKE SAs, or the connection to initiate or list")
        String ike;
        @Option(names = "--ike-id", paramLabel = "N", order = 11, description = "an IKE SA by its unique id (#N)")
        Long ikeId;
        @Option(names = "--child", paramLabel = "NAME", order = 12, description = "CHILD SAs by configuration name")
        String child;
        @Option(names = "--child-id", paramLabel = "N", order = 13, description = "a CHILD SA by its unique id (#N)")
        Long childId;
        @Option(names = "--reauth", order = 14, description = "--rekey: reauthenticate (a new IKE SA) instead")
        boolean reauth;
        @Option(names = "--timeout", paramLabel = "S", order = 15,
                description = "seconds (1-86400) to wait for initiate (node default 30), terminate (10), rekey (60)")
        Integer timeoutSeconds;
        @Option(names = "--file", paramLabel = "PATH", order = 16, description = "the configuration to load, read here")
        Path file;
        @Option(names = "--remote-path", paramLabel = "PATH", order = 17,
                description = "the configuration to load, read by the node (inside its configuration directory)")
        String remotePath;
        @Option(names = "--level", paramLabel = "LEVEL", order = 18, converter = Levels.class,
                completionCandidates = Levels.class, description = "log lines at or above: ${COMPLETION-CANDIDATES}")
        LogLevel level;
        @Option(names = "--subsystem", paramLabel = "S", split = ",", order = 19, converter = Subsystems.class,
                completionCandidates = Subsystems.class,
                description = "only these subsystems: ${COMPLETION-CANDIDATES}")
        List<LogSubsystem> subsystems;
        @Option(names = "--json", order = 20,
                description = "print the answer as JSON (protobuf's mapping; one object a line for streams)")
        boolean json;
    }

    @ArgGroup(exclusive = false, validate = false, heading = "%nWhat the commands act on:%n", order = 2)
    Selectors selectors = new Selectors();

    /** How keelctl reaches the node (AdminTarget). */
    static final class ConnectionOptions {
        @Option(names = {"-u", "--uri"}, paramLabel = "URI", order = 30, description = "the node's admin API:"
                + " unix:/path or host:port (default $KEEL_ADMIN_URI, else " + AdminTarget.DEFAULT_URI + ")")
        String uri;
        @Option(names = "--cert", paramLabel = "PEM", order = 31,
                description = "client certificate for mutual TLS (default $KEEL_TLS_CERT)")
        Path cert;
        @Option(names = "--key", paramLabel = "PEM", order = 32,
                description = "its private key (default $KEEL_TLS_KEY)")
        Path key;
        @Option(names = "--cacert", paramLabel = "PEM", order = 33,
                description = "the CA of the node's certificate (default $KEEL_TLS_CA)")
        Path cacert;
        @Option(names = "--server-name", paramLabel = "NAME", order = 34,
                description = "the name the node's certificate carries, when not the --uri host")
        String serverName;
        @Option(names = "--plaintext", order = 35, description = "host:port without TLS (a loopback address only)")
        boolean plaintext;
    }

    @ArgGroup(exclusive = false, validate = false, heading = "%nConnection:%n", order = 3)
    ConnectionOptions connection = new ConnectionOptions();

    @Spec
    CommandSpec spec;

    private final Environment environment;
    private final PrintWriter out;
    private final PrintWriter err;

    /**
     * What keelctl takes from the process: the environment, the clock (relative times, dates)
     * and how a channel is opened (tests open in-process ones).
     */
    record Environment(Map<String, String> env, Clock clock, ChannelOpener channels) {
        static Environment system() {
            return new Environment(System.getenv(), Clock.systemDefaultZone(), AdminTarget::open);
        }
    }

    /** Opens the channel to a target. */
    @FunctionalInterface
    interface ChannelOpener {
        ManagedChannel open(AdminTarget target) throws IOException;
    }

    private Keelctl(Environment environment, PrintWriter out, PrintWriter err) {
        this.environment = environment;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        // grpc-java and its Netty log transport trouble themselves; keelctl says it in one line.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "off");
        }
        Logger.getLogger("").setLevel(Level.OFF);
        PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
        System.exit(run(args, Environment.system(), out, err));
    }

    /** Runs keelctl with {@code args}; returns its exit status. */
    static int run(String[] args, Environment environment, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Keelctl(environment, out, err));
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((e, a) -> {
            if (a.length == 0) {
                e.getCommandLine().usage(err);
            }
            return Failures.line(err, Failures.USAGE, e.getMessage().strip().replaceAll("\\s*\\R\\s*", " ")
                    + " (keelctl --help lists the options)");
        });
        cl.setExecutionExceptionHandler((e, c, parsed) -> Failures.line(err, Failures.FAILED,
                "unexpected " + e.getClass().getSimpleName() + ": " + e.getMessage()));
        int status = cl.execute(args);
        out.flush();
        err.flush();
        return status;
    }

    @Override
    public Integer call() throws IOException {
        Verb verb = verb();
        if (verb == Verb.COMPLETION) {
            out.print(AutoComplete.bash("keelctl", spec.commandLine()));
            out.flush();
            return 0;
        }
        AdminTarget target;
        try {
            target = AdminTarget.of(new AdminTarget.Options(connection.uri, connection.cert,
                    connection.key, connection.cacert, connection.plaintext, connection.serverName),
                    environment.env());
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Request request = request(verb);
        ManagedChannel channel;
        try {
            channel = environment.channels().open(target);
        } catch (IOException | RuntimeException e) {
            return Failures.line(err, Failures.UNREACHABLE, "cannot open a channel to " + target.uri() + ": "
                    + e.getMessage() + "; check --cert, --key and --cacert are PEM files");
        }
        boolean[] streamed = {false};
        try {
            return request.run(channel, streamed);
        } catch (StatusRuntimeException e) {
            return Failures.report(e, verb, target, streamed[0], err);
        } finally {
            channel.shutdownNow();
        }
    }

    /** The one verb given; refuses options that do not go with it. */
    private Verb verb() {
        Verb verb = null;
        List<String> given = new ArrayList<>();
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            given.add(o.longestName());
            if (Verb.of(o.longestName()) != null) {
                verb = Verb.of(o.longestName());
            }
        }
        if (verb == null) {
            throw new ParameterException(spec.commandLine(), "no command given");
        }
        for (String option : given) {
            if (!verb.takes(option)) {
                throw new ParameterException(spec.commandLine(), option + " does not go with " + verb.option());
            }
        }
        return verb;
    }

    /** A verb's call, ready to run on a channel; {@code streamed[0]} is set once the node has streamed a message. */
    @FunctionalInterface
    private interface Request {
        int run(ManagedChannel channel, boolean[] streamed) throws IOException;
    }

    /** Checks the verb's options (usage errors come before any call) and returns its call. */
    private Request request(Verb verb) throws IOException {
        return switch (verb) {
            case LIST_SAS -> listSas();
            case LIST_CONNS -> (ch, s) -> {
                ListConnectionsResponse r = policy(ch, READ_DEADLINE_SECONDS)
                        .listConnections(ListConnectionsRequest.getDefaultInstance());
                return print(r, () -> r.getConnectionsList().forEach(c -> out.print(SwanctlText.connection(c))));
            };
            case LIST_POLS -> (ch, s) -> {
                ListPoliciesResponse r = policy(ch, READ_DEADLINE_SECONDS).listPolicies(
                        ListPoliciesRequest.newBuilder().setConnection(orEmpty(selectors.ike)).build());
                return print(r, () -> r.getEntriesList().forEach(e -> out.print(SwanctlText.policy(e))));
            };
            case LIST_CERTS -> (ch, s) -> {
                ListCertsResponse r = ike(ch, READ_DEADLINE_SECONDS).listCerts(ListCertsRequest.getDefaultInstance());
                return print(r, () -> out.print(text().certificates(r.getCertsList())));
            };
            case LIST_SAD -> (ch, s) -> listSad(ch);
            case INITIATE -> initiate();
            case TERMINATE -> terminate();
            case REKEY -> rekey();
            case LOAD_ALL, LOAD_CONNS -> load(verb);
            case STATS -> (ch, s) -> {
                StatsResponse r = ike(ch, READ_DEADLINE_SECONDS).stats(StatsRequest.getDefaultInstance());
                return print(r, () -> out.print(text().stats(r)));
            };
            case LOG -> watchLog();
            case LOGLEVEL -> setLogLevels();
            case COMPLETION -> throw new IllegalStateException("handled before");
        };
    }

    private Request listSas() {
        ListIkeSasRequest req = ListIkeSasRequest.newBuilder().setConnection(orEmpty(selectors.ike))
                .setUniqueId(selectors.ikeId == null ? 0 : positive("--ike-id", selectors.ikeId)).build();
        SwanctlText text = text();
        return (ch, s) -> {
            ListIkeSasResponse r = ike(ch, READ_DEADLINE_SECONDS).listIkeSas(req);
            return print(r, () -> r.getIkeSasList().forEach(sa -> out.print(text.ikeSa(sa))));
        };
    }

    private int listSad(ManagedChannel ch) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(READ_DEADLINE_SECONDS);
        ListChildSasResponse.Builder all = ListChildSasResponse.newBuilder();
        String token = "";
        do { // pages are bounded by the SAD's size; the deadline bounds the whole listing
            ListChildSasResponse page = SaServiceGrpc.newBlockingStub(ch)
                    .withDeadlineAfter(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)
                    .listChildSas(ListChildSasRequest.newBuilder().setPageSize(SAD_PAGE).setPageToken(token)
                            .setConnection(orEmpty(selectors.ike)).build());
            all.addAllChildSas(page.getChildSasList());
            token = page.getNextPageToken();
        } while (!token.isEmpty());
        ListChildSasResponse r = all.build();
        return print(r, () -> {
            for (ChildSaRecord sa : r.getChildSasList()) {
                out.println(SwanctlText.sadRecord(sa));
            }
        });
    }

    private Request initiate() {
        if (selectors.child == null && selectors.ike == null) {
            throw usage("--initiate needs --child NAME (and --ike NAME when several connections have that child)"
                    + " or --ike NAME (its children)");
        }
        int timeout = selectors.timeoutSeconds == null ? 0 : seconds(selectors.timeoutSeconds);
        return (ch, streamed) -> {
            String connection = selectors.ike != null ? selectors.ike : connectionOf(ch, selectors.child);
            if (connection == null) {
                return Failures.FAILED;
            }
            InitiateRequest.Builder req = InitiateRequest.newBuilder().setConnection(connection)
                    .setChild(orEmpty(selectors.child)).setTimeoutMillis(timeout * 1000);
            if (selectors.level != null) {
                req.setLevel(selectors.level);
            }
            long wait = (timeout == 0 ? 30 : timeout) + GRACE_SECONDS;
            Iterator<LogLine> lines = ike(ch, wait).initiate(req.build());
            while (lines.hasNext()) {
                LogLine line = lines.next();
                streamed[0] = true;
                out.println(selectors.json ? compactJson(line) : SwanctlText.initiateLine(line));
                out.flush();
            }
            if (!selectors.json) {
                out.println("initiate completed successfully");
            }
            return 0;
        };
    }

    /**
     * The connection holding child {@code name} (swanctl finds it the same way); null after
     * saying so when there is none, a usage error when there are several.
     */
    private String connectionOf(ManagedChannel ch, String name) {
        List<String> found = new ArrayList<>();
        for (Connection c : policy(ch, READ_DEADLINE_SECONDS).listConnections(ListConnectionsRequest.getDefaultInstance())
                .getConnectionsList()) {
            if (c.getChildrenList().stream().anyMatch(k -> k.getName().equals(name))) {
                found.add(c.getName());
            }
        }
        if (found.size() > 1) {
            throw usage("connections " + String.join(", ", found) + " all have a child named '" + name
                    + "': add --ike NAME");
        }
        if (found.isEmpty()) {
            Failures.line(err, Failures.FAILED, "no connection has a child named '" + name
                    + "'; keelctl --list-conns shows the connections");
            return null;
        }
        return found.getFirst();
    }

    private Request terminate() {
        TerminateRequest.Builder req = TerminateRequest.newBuilder();
        switch (target(Verb.TERMINATE)) {
            case "--ike" -> req.setIke(selectors.ike);
            case "--ike-id" -> req.setIkeUniqueId(selectors.ikeId);
            case "--child" -> req.setChild(selectors.child);
            default -> req.setChildUniqueId(selectors.childId);
        }
        int timeout = selectors.timeoutSeconds == null ? 0 : seconds(selectors.timeoutSeconds);
        req.setTimeoutMillis(timeout * 1000);
        long wait = (timeout == 0 ? 10 : timeout) + GRACE_SECONDS;
        return (ch, s) -> {
            TerminateResponse r = ike(ch, wait).terminate(req.build());
            return print(r, () -> {
                r.getIkeSasList().forEach(id -> out.println("terminated IKE_SA #" + Long.toUnsignedString(id)));
                r.getChildSasList().forEach(id -> out.println("terminated CHILD_SA #" + Long.toUnsignedString(id)));
                out.println("terminate completed successfully");
            });
        };
    }

    private Request rekey() {
        RekeyRequest.Builder req = RekeyRequest.newBuilder();
        String selector = target(Verb.REKEY);
        switch (selector) {
            case "--ike" -> req.setIke(selectors.ike);
            case "--ike-id" -> req.setIkeUniqueId(selectors.ikeId);
            case "--child" -> req.setChild(selectors.child);
            default -> req.setChildUniqueId(selectors.childId);
        }
        if (selectors.reauth) {
            if (selector.startsWith("--child")) {
                throw usage("--reauth reauthenticates IKE SAs: give --ike NAME or --ike-id N");
            }
            req.setReauth(true);
        }
        long wait = selectors.timeoutSeconds == null ? 60 : seconds(selectors.timeoutSeconds);
        return (ch, s) -> {
            RekeyResponse r = ike(ch, wait).rekey(req.build());
            return print(r, () -> {
                r.getIkeSasList().forEach(id -> out.println("new IKE_SA #" + Long.toUnsignedString(id)));
                r.getChildSasList().forEach(id -> out.println("new CHILD_SA #" + Long.toUnsignedString(id)));
                out.println((selectors.reauth ? "reauthentication" : "rekey") + " completed successfully");
            });
        };
    }

    /** The one SA selector of terminate or rekey, by its option. */
    private String target(Verb verb) {
        List<String> given = new ArrayList<>();
        if (selectors.ike != null) {
            given.add("--ike");
        }
        if (selectors.ikeId != null) {
            positive("--ike-id", selectors.ikeId);
            given.add("--ike-id");
        }
        if (selectors.child != null) {
            given.add("--child");
        }
        if (selectors.childId != null) {
            positive("--child-id", selectors.childId);
            given.add("--child-id");
        }
        if (given.size() != 1) {
            throw usage(verb.option() + " takes one of --ike NAME, --ike-id N, --child NAME, --child-id N"
                    + (given.isEmpty() ? "" : ", not " + String.join(" and ", given)));
        }
        return given.getFirst();
    }

    private Request load(Verb verb) throws IOException {
        ConfigSource.Builder source = ConfigSource.newBuilder();
        if ((selectors.file == null) == (selectors.remotePath == null)) {
            throw usage(verb.option() + " takes --file PATH (a file here) or --remote-path PATH (a file on the node)");
        }
        if (selectors.file != null) {
            try {
                source.setYamlText(Files.readString(selectors.file, StandardCharsets.UTF_8)).setSourceName(selectors.file.toString());
            } catch (IOException e) {
                throw usage("cannot read --file " + selectors.file + ": " + e.getClass().getSimpleName()
                        + (e.getMessage() == null || e.getMessage().equals(selectors.file.toString()) ? "" : " " + e.getMessage()));
            }
        } else {
            source.setPath(selectors.remotePath);
        }
        LoadConfigRequest req = LoadConfigRequest.newBuilder().setSource(source).build();
        return (ch, s) -> {
            LoadConfigResponse r = policy(ch, READ_DEADLINE_SECONDS).loadConfig(req);
            return print(r, () -> out.println("successfully loaded " + r.getConnectionCount() + " connections and "
                    + r.getPolicyCount() + " policies, revision " + r.getRevision()));
        };
    }

    private Request watchLog() {
        WatchLogRequest.Builder req = WatchLogRequest.newBuilder();
        if (selectors.level != null) {
            req.setLevel(selectors.level);
        }
        if (selectors.subsystems != null) {
            req.addAllSubsystems(selectors.subsystems);
        }
        SwanctlText text = text();
        return (ch, streamed) -> {
            // Runs until Ctrl-C (the JVM's exit closes the call) or until the node ends the stream.
            Iterator<LogLine> lines = IkeServiceGrpc.newBlockingStub(ch).watchLog(req.build());
            while (lines.hasNext()) {
                LogLine line = lines.next();
                streamed[0] = true;
                out.println(selectors.json ? compactJson(line) : text.logLine(line));
                out.flush();
            }
            return 0;
        };
    }

    private Request setLogLevels() {
        SetLogLevelsRequest.Builder req = SetLogLevelsRequest.newBuilder();
        for (String pair : commands.logLevels) {
            int eq = pair.indexOf('=');
            if (eq < 0) {
                throw usage("--loglevel " + pair + ": expected SUBSYS=LEVEL, e.g. ike=debug");
            }
            try {
                req.addLevels(SubsystemLevel.newBuilder().setSubsystem(new Subsystems().convert(pair.substring(0, eq)))
                        .setLevel(new Levels().convert(pair.substring(eq + 1))));
            } catch (CommandLine.TypeConversionException e) {
                throw usage("--loglevel " + pair + ": " + e.getMessage());
            }
        }
        return (ch, s) -> {
            SetLogLevelsResponse r = ike(ch, READ_DEADLINE_SECONDS).setLogLevels(req.build());
            return print(r, () -> r.getLevelsList().forEach(l -> out.println(
                    SwanctlText.name(l.getSubsystem(), "LOG_SUBSYSTEM_").toLowerCase(Locale.ROOT) + "="
                            + SwanctlText.name(l.getLevel(), "LOG_LEVEL_").toLowerCase(Locale.ROOT))));
        };
    }

    // --- pieces -----------------------------------------------------------------------------------

    /** Prints {@code answer} as JSON, or runs {@code text}; returns 0. */
    private int print(MessageOrBuilder answer, Runnable text) {
        if (selectors.json) {
            try {
                out.println(JsonFormat.printer().alwaysPrintFieldsWithNoPresence().print(answer));
            } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException(e);
            }
        } else {
            text.run();
        }
        out.flush();
        return 0;
    }

    private static String compactJson(MessageOrBuilder m) {
        try {
            return JsonFormat.printer().alwaysPrintFieldsWithNoPresence().omittingInsignificantWhitespace().print(m);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    private SwanctlText text() {
        return new SwanctlText(environment.clock().instant(), environment.clock().getZone());
    }

    private static IkeServiceGrpc.IkeServiceBlockingStub ike(ManagedChannel ch, long deadlineSeconds) {
        return IkeServiceGrpc.newBlockingStub(ch).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
    }

    private static PolicyServiceGrpc.PolicyServiceBlockingStub policy(ManagedChannel ch, long deadlineSeconds) {
        return PolicyServiceGrpc.newBlockingStub(ch).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }

    /** An SA's unique id (#N): positive. */
    private long positive(String option, long n) {
        if (n <= 0) {
            throw usage(option + " must be a positive number, not " + n);
        }
        return n;
    }

    /** {@code --timeout}: 1 s to a day (the API carries milliseconds in 32 bits). */
    private int seconds(int timeout) {
        if (timeout < 1 || timeout > MAX_TIMEOUT_SECONDS) {
            throw usage("--timeout must be 1 to " + MAX_TIMEOUT_SECONDS + " seconds, not " + timeout);
        }
        return timeout;
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    /** Log levels by their names in any case (error, warn, info, debug, trace). */
    static final class Levels extends Names<LogLevel> {
        Levels() {
            super(LogLevel.values(), "LOG_LEVEL_", "a log level");
        }
    }

    /** Log selectors.subsystems by their strongSwan names in any case (selectors.ike, cfg, chd, net, esp, sad, knl). */
    static final class Subsystems extends Names<LogSubsystem> {
        Subsystems() {
            super(LogSubsystem.values(), "LOG_SUBSYSTEM_", "a log subsystem");
        }
    }

    /** A proto enum's values by their lower-case names without prefix, for options and their completion. */
    private abstract static class Names<E extends Enum<E>> implements CommandLine.ITypeConverter<E>, Iterable<String> {
        private final Map<String, E> byName = new java.util.LinkedHashMap<>();
        private final String what;

        Names(E[] values, String prefix, String what) {
            for (E v : values) {
                String n = v.name();
                if (n.startsWith(prefix) && !n.endsWith("_UNSPECIFIED")) {
                    byName.put(n.substring(prefix.length()).toLowerCase(Locale.ROOT), v);
                }
            }
            this.what = what;
        }

        @Override
        public E convert(String value) {
            E v = byName.get(value.strip().toLowerCase(Locale.ROOT));
            if (v == null) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not " + what + ": "
                        + String.join(", ", byName.keySet()));
            }
            return v;
        }

        @Override
        public Iterator<String> iterator() {
            return byName.keySet().iterator();
        }
    }

    /** The version of the jar keelctl runs from. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Keelctl.class.getPackage().getImplementationVersion();
            return new String[] {"keelctl (Keel) " + (v == null ? "development build" : v)};
        }
    }
}
