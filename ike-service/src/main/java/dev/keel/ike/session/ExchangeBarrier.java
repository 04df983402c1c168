package dev.keel.ike.session;

import java.util.concurrent.CompletableFuture;

/**
 * The one barrier of an IKE SA's exchanges (DESIGN §4; docs/ha.md, "One barrier"): what the
 * exchange under way changed is made durable, the CHILD SAs it made installed and then the IKE
 * SA's state stored, before its response or our next request leaves. Runs on the IKE SA's thread.
 */
final class ExchangeBarrier {

    private final IkeSa sa;
    /** Installs of CHILD SAs made by the exchange under way, not done yet (DESIGN §4 install before use). */
    private CompletableFuture<?> installs;
    /** Writes of the IKE SA's state to the SAD, one at a time (docs/ha.md, "IKE SA failover"). */
    private final StateWrites writes;
    /** Established once: from then on every exchange stores its state. */
    private boolean stored;

    ExchangeBarrier(IkeSa sa) {
        this.sa = sa;
        this.writes = new StateWrites(sa);
    }

    /** From now on every exchange stores the IKE SA's state (it is established, or was taken over). */
    void storeFromNowOn() {
        stored = true;
    }

    /** Makes the exchange under way wait for {@code more} too (a CHILD SA's install); nothing when it is null or done. */
    void awaitAlso(CompletableFuture<?> more) {
        if (more != null && !more.isDone()) {
            installs = installs == null ? more : CompletableFuture.allOf(installs, more);
        }
    }

    /**
     * The installs of the CHILD SAs added since the last call, complete when all are (failed or
     * not), or null when there is nothing to wait for.
     */
    CompletableFuture<?> takeInstalls() {
        CompletableFuture<?> pending = installs;
        installs = null;
        return pending == null || pending.isDone() ? null : pending.handle((v, e) -> null);
    }

    /**
     * Makes what the exchange under way changed durable: first the CHILD SAs it made are installed
     * ({@link #takeInstalls}), then, once the IKE SA is established, its state is stored
     * ({@link IkeEvents#ikeSaChanged}). The response of the exchange, and our next request, leave
     * only when the result completes; it completes on the IKE SA's thread, failed or not, and is
     * null when there is nothing to wait for. Installs first: a stored state never names a CHILD SA
     * that is not in the SAD.
     */
    CompletableFuture<?> makeDurable() {
        CompletableFuture<?> installed = takeInstalls();
        if (!stored || !sa.isAlive()) { // a destroyed IKE SA's record is deleted, never written again
            return installed;
        }
        if (installed == null) {
            return writes.request();
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        installed.whenComplete((v, e) -> sa.timers().execute(() -> {
            CompletableFuture<Void> w = sa.isAlive() ? writes.request() : null;
            if (w == null) {
                done.complete(null);
            } else {
                w.whenComplete((x, t) -> done.complete(null));
            }
        }));
        return done;
    }
}
