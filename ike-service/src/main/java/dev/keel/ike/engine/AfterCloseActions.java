package dev.keel.ike.engine;

import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.ChildConnection.AfterClose;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What follows a CHILD SA the peer took away: its configuration's {@code dpd_action} when the
 * peer stopped answering, its {@code close_action} when the peer deleted it or its IKE SA.
 * {@code start} initiates it again at once (all lost children of one connection on one new IKE
 * SA); {@code trap} arms its trap until a CHILD SA of it is up again, so the next packet its
 * policy matches (an acquire) initiates it. Armed traps are this node's: they are not shared.
 */
final class AfterCloseActions {

    private static final Logger LOG = LoggerFactory.getLogger(AfterCloseActions.class);

    private final Set<String> armed = ConcurrentHashMap.newKeySet();
    private final BiFunction<String, String, CompletableFuture<IkeSa>> initiate;

    /** @param initiate initiates child (second) of connection (first), as {@link IkeEngine#initiate(String, String)} */
    AfterCloseActions(BiFunction<String, String, CompletableFuture<IkeSa>> initiate) {
        this.initiate = initiate;
    }

    /** {@code children} of {@code sa} are lost ({@link dev.keel.ike.session.IkeEvents#childrenLost}). */
    void lost(IkeSa sa, List<ChildSa> children, boolean peerDead) {
        if (sa.connection() == null) {
            return;
        }
        String connection = sa.connection().name();
        String key = peerDead ? "dpd_action" : "close_action";
        List<String> restart = new ArrayList<>();
        for (ChildSa child : children) {
            ChildConnection config = sa.connection().child(child.name()).orElse(null);
            if (config == null) {
                continue;
            }
            AfterClose action = peerDead ? config.dpdAction() : config.closeAction();
            switch (action) {
                case NONE -> { }
                case TRAP -> {
                    armed.add(key(connection, child.name()));
                    LOG.info("{}: CHILD_SA {} lost ({}); {} trap: its next packet initiates it", sa, child.name(),
                            peerDead ? "peer dead" : "closed by the peer", key);
                }
                case START -> restart.add(child.name());
            }
        }
        if (!restart.isEmpty()) {
            LOG.info("{}: CHILD_SAs {} lost ({}); {} start: initiating again", sa, restart,
                    peerDead ? "peer dead" : "closed by the peer", key);
            restart(connection, restart);
        }
    }

    /** Initiates the first child, then each further one on the IKE SA the first came up on. */
    private void restart(String connection, List<String> children) {
        CompletableFuture<?> chain = initiate.apply(connection, children.getFirst());
        for (String child : children.subList(1, children.size())) {
            chain = chain.thenCompose(x -> initiate.apply(connection, child));
        }
        chain.whenComplete((x, failure) -> {
            if (failure != null) {
                LOG.warn("{}: initiating {} again failed: {}", connection, children, failure.getMessage());
            }
        });
    }

    /** A CHILD SA of {@code child} is up: its trap, if armed, is spent. */
    void established(IkeSa sa, ChildSa child) {
        if (sa.connection() != null && !armed.isEmpty()) {
            armed.remove(key(sa.connection().name(), child.name()));
        }
    }

    /** Whether child {@code child} of {@code connection} has an armed trap. */
    boolean armed(String connection, String child) {
        return armed.contains(key(connection, child));
    }

    private static String key(String connection, String child) {
        return connection + "/" + child;
    }
}
