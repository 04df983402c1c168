package dev.keel.ike.service;

import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.session.ConnectionDirectory;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Acquires from a data plane (a packet hit a PROTECT policy without an SA, RFC 4301 §5.1, the
 * kernel's ACQUIRE): a {@code trap} child is initiated, and so is one whose dpd_action or
 * close_action armed its trap ({@link IkeEngine#trapArmed}); any other is left alone (its peer or
 * start-up brings it). The gateway's data plane reports them in-process, an esp-worker's
 * through the IKE relay; each data plane already limits them to one in flight per policy.
 */
public final class TrapAcquires {

    private static final Logger LOG = LoggerFactory.getLogger(TrapAcquires.class);

    private final ConnectionDirectory directory;
    private final Supplier<IkeEngine> engine;
    private final LongAdder initiated = new LongAdder();
    private final LongAdder ignored = new LongAdder();

    /** @param engine the engine, or null while it is not running yet */
    public TrapAcquires(ConnectionDirectory directory, Supplier<IkeEngine> engine) {
        this.directory = directory;
        this.engine = engine;
    }

    /**
     * A packet described by {@code packet} (for the log) hit child {@code child} of connection
     * {@code connection}; initiates it when its start action is {@code trap}. Does not block.
     */
    public void acquire(String connection, String child, String packet) {
        IkeEngine e = engine.get();
        boolean trap = directory.byName(connection).flatMap(c -> c.child(child))
                .map(ch -> ch.startAction() == ChildConnection.StartAction.TRAP
                        || e != null && e.trapArmed(connection, child))
                .orElse(false);
        if (e == null || !trap) {
            ignored.increment();
            return;
        }
        initiated.increment();
        LOG.info("acquire {}/{}: {}; initiating", connection, child, packet);
        e.initiate(connection, child).whenComplete((sa, failure) -> {
            if (failure != null) {
                LOG.warn("{}/{}: acquire-triggered initiation failed: {}", connection, child, failure.getMessage());
            }
        });
    }

    /** Acquires that started an initiation. */
    public long initiated() {
        return initiated.sum();
    }

    /** Acquires of a child that is not {@code trap}, of an unknown one, or before the engine ran. */
    public long ignored() {
        return ignored.sum();
    }
}
