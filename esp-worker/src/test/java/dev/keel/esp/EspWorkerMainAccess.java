package dev.keel.esp;

import java.io.PrintStream;

/** Lets tests in other packages run {@link EspWorkerMain} without System.exit. */
public final class EspWorkerMainAccess {

    private EspWorkerMainAccess() {
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        return EspWorkerMain.run(args, out, err);
    }
}
