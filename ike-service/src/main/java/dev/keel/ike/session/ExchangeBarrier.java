package dev.keel.ike.session;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The one barrier of an IKE SA's exchanges (DESIGN §4; docs/ha.md, "One barrier"): what the
 * exchange under way changed is made durable, the CHILD SAs it made installed and then the IKE
 * SA's state stored, before its response or our next request leaves. Runs on the IKE SA's thread.
 */
final class ExchangeBarrier {

    private final IkeSa sa;
    /**
     * What the exchange under way waits for (DESIGN §4 install before use): the installs of the
     * CHILD SAs it made, each with what to do once the node answered, and a replacement IKE SA's
     * own durability.
     */
    private final List<Install> installs = new ArrayList<>();
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

    /** One stage the exchange under way waits for, and what runs on the IKE SA's thread once it is done. */
    private record Install(CompletableFuture<?> stage, Consumer<Boolean> then) {
    }

    /** Makes the exchange under way wait for {@code more} too (a replacement's durability); nothing when it is null. */
    void awaitAlso(CompletableFuture<?> more) {
        if (more != null) {
            installs.add(new Install(more, null));
        }
    }

    /**
     * Makes the exchange under way wait for a CHILD SA's install, and runs {@code then} with true
     * (installed) or false (the stage failed: not installed) on the IKE SA's thread once it is
     * done, before the exchange's response or our next request leaves.
     */
    void awaitInstall(CompletableFuture<?> stage, Consumer<Boolean> then) {
        installs.add(new Install(stage, then));
    }

    /**
     * Waits for the installs added since the last call and runs their {@code then}s: at once when
     * every stage is done already (the result is null then), otherwise on the IKE SA's thread when
     * the last one is, and the result completes after that.
     */
    CompletableFuture<?> takeInstalls() {
        if (installs.isEmpty()) {
            return null;
        }
        List<Install> taken = List.copyOf(installs);
        installs.clear();
        if (taken.stream().allMatch(i -> i.stage().isDone())) {
            settle(taken);
            return null;
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        CompletableFuture.allOf(taken.stream().map(Install::stage).toArray(CompletableFuture[]::new))
                .whenComplete((v, e) -> sa.timers().execute(() -> {
                    try {
                        settle(taken);
                    } finally {
                        done.complete(null);
                    }
                }));
        return done;
    }

    private static void settle(List<Install> taken) {
        for (Install i : taken) {
            if (i.then() != null) {
                i.then().accept(!i.stage().isCompletedExceptionally());
            }
        }
    }

    /**
     * Makes what the exchange under way changed durable: first the CHILD SAs it made are installed
     * and their {@code then}s run ({@link #takeInstalls}), then, once the IKE SA is established, its state is stored
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
