package dev.keel.core.ffi;

/** Shared handling for foreign-function downcalls (libc, libcrypto). */
public final class Downcalls {

    private Downcalls() {
    }

    /**
     * Rethrows what a downcall handle's {@code invokeExact} threw. Downcall handles throw no checked
     * exceptions; {@code invokeExact} merely declares {@link Throwable}, so anything checked is a bug.
     * Declared to return so callers can write {@code throw Downcalls.unexpected(t)}.
     */
    public static RuntimeException unexpected(Throwable t) {
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("downcall threw " + t, t);
    }
}
