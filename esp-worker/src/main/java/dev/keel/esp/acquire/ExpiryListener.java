package dev.keel.esp.acquire;

/**
 * Receives lifetime expiries of the SAs this worker runs (RFC 4301 §4.4.2.1): soft = rekey now,
 * hard = the SA is used no more (the worker already stopped using it). Called once per SA and
 * kind, off the event loops; the IKE service implements it.
 */
public interface ExpiryListener {

    /** Ignores expiries. */
    ExpiryListener NONE = new ExpiryListener() {
    };

    /**
     * @param saId       the CHILD SA's id in sad-service
     * @param connection its connection
     * @param child      its child
     * @param outbound   whether it is our outbound half
     */
    default void onSoftExpiry(String saId, String connection, String child, boolean outbound) {
    }

    default void onHardExpiry(String saId, String connection, String child, boolean outbound) {
    }
}
