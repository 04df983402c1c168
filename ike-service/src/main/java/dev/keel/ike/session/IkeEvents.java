package dev.keel.ike.session;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * What the engine tells the rest of the node: CHILD SAs to install in and remove from the data
 * plane (and the SAD), IKE SAs coming and going. Called on the IKE SA's thread; implementations
 * must not block it.
 */
public interface IkeEvents {

    /** An IKE SA authenticated both ways. */
    default void ikeEstablished(IkeSa sa) {
    }

    /** An IKE SA is gone: deleted, failed, or timed out; {@code reason} says which. */
    default void ikeDestroyed(IkeSa sa, String reason) {
    }

    /** A CHILD SA pair was negotiated: install both directions. */
    default void childEstablished(IkeSa sa, ChildSa child) {
    }

    /**
     * When the CHILD SA just reported through {@link #childEstablished} can carry traffic on this
     * node (DESIGN §4, install before use: in the SAD and in the owner's data plane). The message
     * that completes the CHILD SA leaves only then, and an initiator counts it established and
     * starts its next exchange (a rekey's Delete of the old SA, say) only then. A stage that
     * fails means the pair could not be installed: a CREATE_CHILD_SA we answer is answered
     * TEMPORARY_FAILURE instead (RFC 7296 §2.25), a pair the peer has already is deleted, and a
     * rekey keeps the SA it was to replace. Default: at once.
     */
    default java.util.concurrent.CompletionStage<?> childInstalled(IkeSa sa, ChildSa child) {
        return INSTALLED;
    }

    /** The stage of a CHILD SA with nothing to wait for. */
    java.util.concurrent.CompletionStage<?> INSTALLED = java.util.concurrent.CompletableFuture.completedFuture(null);

    /**
     * What an exchange of {@code sa} changed must become durable (DESIGN §4; docs/ha.md, "IKE SA
     * failover"): store {@link IkeSa#snapshot()}, taken now, on this thread. Called for an
     * established IKE SA after every exchange, before its response leaves, and before each request
     * of ours leaves; the message waits for the stage. Calls for one IKE SA never overlap: the next
     * comes after this stage completed. A stage that fails means the same as one that completes
     * (the message goes; the IKE SA may not survive a takeover). Default: nothing to store.
     */
    default java.util.concurrent.CompletionStage<?> ikeSaChanged(IkeSa sa) {
        return INSTALLED;
    }

    /**
     * {@code sa} was dropped here without a word to the peer or the SAD (another node owns it now,
     * {@link IkeSa#abandon}): forget it and its CHILD SAs locally; their records stay.
     */
    default void ikeAbandoned(IkeSa sa, String reason) {
    }

    /** A CHILD SA pair was deleted: remove both directions and zeroize its keys. */
    default void childDeleted(IkeSa sa, ChildSa child) {
    }

    /**
     * CHILD SAs ended without us asking, and no CHILD SA of the same configuration took their
     * place: the peer deleted them or their IKE SA ({@code peerDead} false), or stopped answering
     * ({@code peerDead} true). They were reported through {@link #childDeleted} already; what
     * follows is their configuration's close_action or dpd_action.
     */
    default void childrenLost(IkeSa sa, List<ChildSa> children, boolean peerDead) {
    }

    /**
     * A CHILD SA was rekeyed (RFC 7296 §2.8): {@code replacement} was already reported through
     * {@link #childEstablished}; {@code old} follows through {@link #childDeleted} once deleted.
     */
    default void childRekeyed(IkeSa sa, ChildSa old, ChildSa replacement) {
    }

    /**
     * An IKE SA was rekeyed (RFC 7296 §2.18): {@code replacement} took over the CHILD SAs of
     * {@code old} (no childDeleted/childEstablished for them); {@code old} is deleted next.
     */
    default void ikeRekeyed(IkeSa old, IkeSa replacement) {
    }

    /** An exchange failed with a reason an operator should see (e.g. "peer sent AUTHENTICATION_FAILED"). */
    default void failed(IkeSa sa, String reason) {
    }

    /**
     * Tells each of {@code each}, in order; a stage the engine waits for completes when all of
     * theirs have.
     */
    static IkeEvents all(IkeEvents... each) {
        Consumer<Consumer<IkeEvents>> every = call -> {
            for (IkeEvents e : each) {
                call.accept(e);
            }
        };
        Function<Function<IkeEvents, CompletionStage<?>>, CompletionStage<?>> allOf = call -> CompletableFuture
                .allOf(Arrays.stream(each).map(e -> call.apply(e).toCompletableFuture()).toArray(CompletableFuture<?>[]::new));
        return new IkeEvents() {
            @Override
            public void ikeEstablished(IkeSa sa) {
                every.accept(e -> e.ikeEstablished(sa));
            }

            @Override
            public void ikeDestroyed(IkeSa sa, String reason) {
                every.accept(e -> e.ikeDestroyed(sa, reason));
            }

            @Override
            public void childEstablished(IkeSa sa, ChildSa child) {
                every.accept(e -> e.childEstablished(sa, child));
            }

            @Override
            public CompletionStage<?> childInstalled(IkeSa sa, ChildSa child) {
                return allOf.apply(e -> e.childInstalled(sa, child));
            }

            @Override
            public void childDeleted(IkeSa sa, ChildSa child) {
                every.accept(e -> e.childDeleted(sa, child));
            }

            @Override
            public CompletionStage<?> ikeSaChanged(IkeSa sa) {
                return allOf.apply(e -> e.ikeSaChanged(sa));
            }

            @Override
            public void ikeAbandoned(IkeSa sa, String reason) {
                every.accept(e -> e.ikeAbandoned(sa, reason));
            }

            @Override
            public void childrenLost(IkeSa sa, List<ChildSa> children, boolean peerDead) {
                every.accept(e -> e.childrenLost(sa, children, peerDead));
            }

            @Override
            public void childRekeyed(IkeSa sa, ChildSa old, ChildSa replacement) {
                every.accept(e -> e.childRekeyed(sa, old, replacement));
            }

            @Override
            public void ikeRekeyed(IkeSa old, IkeSa replacement) {
                every.accept(e -> e.ikeRekeyed(old, replacement));
            }

            @Override
            public void failed(IkeSa sa, String reason) {
                every.accept(e -> e.failed(sa, reason));
            }
        };
    }

    /** Ignores everything. */
    IkeEvents NONE = new IkeEvents() {
    };
}
