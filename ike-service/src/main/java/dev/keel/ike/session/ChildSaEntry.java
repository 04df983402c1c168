package dev.keel.ike.session;

import java.util.ArrayList;
import java.util.List;

/**
 * One CHILD SA of an IKE SA with what the IKE SA tracks for it besides its keys: its lifetime
 * timers, and whether a rekey has replaced it so that it only waits for its delete (RFC 7296 §2.8).
 */
final class ChildSaEntry {

    final ChildSa child;
    private final List<IkeTimers.Cancellable> timers = new ArrayList<>(2);
    private boolean replaced;

    ChildSaEntry(ChildSa child) {
        this.child = child;
    }

    void addTimer(IkeTimers.Cancellable timer) {
        timers.add(timer);
    }

    void cancelTimers() {
        timers.forEach(IkeTimers.Cancellable::cancel);
        timers.clear();
    }

    boolean replaced() {
        return replaced;
    }

    void markReplaced() {
        replaced = true;
    }
}
