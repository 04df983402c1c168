package dev.keel.esp.fed;

import dev.keel.core.config.ConfigProblem;
import dev.keel.esp.config.FedWorkerConfig;
import dev.keel.esp.config.FedWorkerConfigLoader;
import dev.keel.rpc.LogOptions;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keel-esp-worker-fed}: an esp-worker process fed by sad-service and policy-service
 * (docs/esp-worker.md), until SIGTERM / SIGINT; with {@code --check} it only validates the file.
 * Exit codes: 0 ok, 2 invalid configuration, 1 failed to start.
 */
@Command(name = "keel-esp-worker-fed", mixinStandardHelpOptions = true, version = "keel-esp-worker-fed 0.1",
        description = "Runs a Keel ESP data-plane node whose SAs come from sad-service and SPD from policy-service.")
public final class FedWorkerMain implements Callable<Integer> {

    @Mixin
    LogOptions log = new LogOptions();

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "the worker's YAML configuration")
    Path config;

    @Option(names = "--check", description = "validate the configuration (KEK and TLS files included) and exit")
    boolean check;

    private final PrintStream out;
    private final PrintStream err;

    FedWorkerMain(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command line until the worker stops; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return new CommandLine(new FedWorkerMain(out, err))
                .setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true))
                .execute(args);
    }

    /** The configuration at {@code file}, or null after printing every problem to {@code err}. */
    static FedWorkerConfig load(Path file, PrintStream err) {
        FedWorkerConfigLoader.Result result = FedWorkerConfigLoader.loadFile(file);
        if (result instanceof FedWorkerConfigLoader.Result.Invalid invalid) {
            for (ConfigProblem p : invalid.problems()) {
                err.println(p);
            }
            err.println(file + ": " + invalid.problems().size() + " problem(s)");
            return null;
        }
        return ((FedWorkerConfigLoader.Result.Valid) result).config();
    }

    @Override
    public Integer call() throws Exception {
        log.install();
        FedWorkerConfig cfg = load(config, err);
        if (cfg == null) {
            return 2;
        }
        if (check) {
            out.println(config + ": OK, node " + cfg.nodeId() + ", sad " + String.join(" ", cfg.sad()) + ", policy "
                    + cfg.policy());
            return 0;
        }
        FedWorker worker;
        try {
            worker = FedWorker.start(cfg, out);
        } catch (Exception e) {
            err.println("keel-esp-worker: cannot start: " + e.getMessage());
            return 1;
        }
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                worker.close();
            } finally {
                done.countDown();
            }
        }, "keel-esp-worker-shutdown"));
        done.await();
        return 0;
    }
}
