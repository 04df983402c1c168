package dev.keel.gateway.ctl;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * keelctl run in the test's own JVM against a real node (its Unix socket needs no namespace):
 * for tests outside this package that collect what an operator would see, without a JVM a call.
 */
public final class KeelctlInThisJvm {

    /** keelctl's exit status and what it printed on stdout and stderr. */
    public record Result(int exitCode, String out, String err) {
    }

    private KeelctlInThisJvm() {
    }

    /** Runs {@code keelctl ARGS} as {@link Keelctl#main} would, without exiting. */
    public static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Keelctl.run(args, Keelctl.Environment.system(), new PrintWriter(out), new PrintWriter(err));
        return new Result(status, out.toString(), err.toString());
    }
}
