package dev.keel.esp.acquire;

/**
 * Receives {@link Acquire} events; the IKE service implements it. Called on the acquire
 * executor, never on an event loop, at most once per policy while an acquire is in flight
 * ({@link AcquireLimiter}); may block briefly but should hand work off.
 */
@FunctionalInterface
public interface AcquireListener {

    /** Ignores acquires (a worker without an IKE service, e.g. static keying). */
    AcquireListener NONE = a -> { };

    void onAcquire(Acquire acquire);
}
