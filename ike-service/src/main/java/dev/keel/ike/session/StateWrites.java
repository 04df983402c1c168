package dev.keel.ike.session;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores one IKE SA's state ({@link IkeEvents#ikeSaChanged}) one write at a time: a write asked
 * for while another is under way becomes one write after it, of the state as it is then. So writes
 * never overtake each other (the SAD never goes back to an older state), and everyone waiting is
 * answered by a write that includes what they changed. Runs on the IKE SA's thread.
 */
final class StateWrites {

    private static final Logger LOG = LoggerFactory.getLogger(StateWrites.class);

    private final IkeSa sa;
    private boolean writing;
    /** Completes once the write after the one under way is done; null while nobody waits for one. */
    private CompletableFuture<Void> next;

    StateWrites(IkeSa sa) {
        this.sa = sa;
    }

    /**
     * Completes, on the IKE SA's thread, once a write of the state as it is now (or later) is done;
     * null when no write had to wait (nothing stores IKE SAs, or it stored at once).
     */
    CompletableFuture<Void> request() {
        if (writing) {
            if (next == null) {
                next = new CompletableFuture<>();
            }
            return next;
        }
        return start();
    }

    private CompletableFuture<Void> start() {
        if (!sa.isAlive()) {
            return null;
        }
        CompletionStage<?> stage;
        try {
            stage = sa.env().events().ikeSaChanged(sa);
        } catch (RuntimeException e) { // a bug in the store must not stop the exchange
            LOG.error("{}: storing its state failed", sa, e);
            return null;
        }
        CompletableFuture<?> f = stage.toCompletableFuture();
        if (f.isDone()) {
            return null;
        }
        writing = true;
        CompletableFuture<Void> done = new CompletableFuture<>();
        f.whenComplete((v, e) -> sa.timers().execute(() -> {
            writing = false;
            CompletableFuture<Void> waiting = next;
            next = null;
            if (waiting != null) { // before done's dependents run: they may ask for yet another write
                CompletableFuture<Void> w = sa.isAlive() ? start() : null;
                if (w == null) {
                    waiting.complete(null);
                } else {
                    w.whenComplete((x, t) -> waiting.complete(null));
                }
            }
            done.complete(null);
        }));
        return done;
    }
}
