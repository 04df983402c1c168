package dev.keel.ike.admin;

import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSa;
import dev.keel.proto.v1.RekeyResponse;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One Rekey (swanctl --rekey): each IKE SA named is rekeyed (RFC 7296 §2.18), each CHILD SA named
 * (§2.8), by the engine's own rekey tasks; the answer comes once every replacement is in place (an
 * IKE SA's established, a CHILD SA's installed) with their unique ids. A rekey the peer refuses
 * ends the call with ABORTED and its reason, unless it was TEMPORARY_FAILURE, which the engine
 * retries (§2.25); one not done within the timeout with DEADLINE_EXCEEDED.
 */
final class Rekeying implements IkeEvents {

    private final IkeEngine engine;
    private final List<Targets.Target> targets;
    private final Duration timeout;
    /** IKE SAs being rekeyed: the unique id of the replacement, 0 until it is there. */
    private final Map<IkeSa, Long> ikeSas = new ConcurrentHashMap<>();
    /** CHILD SAs being rekeyed by our inbound SPI: the replacement's inbound SPI, 0 until it is negotiated. */
    private final Map<Integer, Integer> childSas = new ConcurrentHashMap<>();
    /** The child names of {@link #childSas}, for the failures the engine reports by name. */
    private final Map<Integer, String> childNames = new ConcurrentHashMap<>();
    /** Replacements installed, by the replaced CHILD SA's inbound SPI: their unique ids. */
    private final Map<Integer, Long> installed = new ConcurrentHashMap<>();
    private final CompletableFuture<Void> done = new CompletableFuture<>();

    Rekeying(IkeEngine engine, List<Targets.Target> targets, Duration timeout) {
        this.engine = engine;
        this.targets = List.copyOf(targets);
        this.timeout = timeout;
    }

    /** Starts the rekeys; completes with the replacements' unique ids. */
    CompletableFuture<RekeyResponse> start() {
        for (Targets.Target t : targets) {
            if (t.child() == null) {
                ikeSas.put(t.ike().sa(), 0L);
            } else {
                childSas.put(t.child().getSpiIn(), 0);
                childNames.put(t.child().getSpiIn(), t.child().getName());
            }
        }
        AutoCloseable observation = engine.observe(this);
        done.whenComplete((v, e) -> {
            try {
                observation.close();
            } catch (Exception ignored) {
                // removing from a list throws nothing
            }
        });
        for (Targets.Target t : targets) {
            if (t.child() == null) {
                engine.rekeyIke(t.ike().sa());
            } else {
                engine.rekeyChild(t.ike().sa(), t.child().getSpiIn());
            }
        }
        done.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
        return done.handle((v, e) -> {
            if (e instanceof TimeoutException) {
                throw Status.DEADLINE_EXCEEDED.withDescription("the rekey was not done within "
                        + timeout.toMillis() + " ms; it may still complete (see ListIkeSas)").asRuntimeException();
            }
            if (e != null) {
                throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
            }
            RekeyResponse.Builder b = RekeyResponse.newBuilder();
            for (Targets.Target t : targets) {
                if (t.child() == null) {
                    b.addIkeSas(ikeSas.get(t.ike().sa()));
                } else {
                    b.addChildSas(installed.get(t.child().getSpiIn()));
                }
            }
            return b.build();
        });
    }

    private void checkDone() {
        if (ikeSas.values().stream().allMatch(id -> id != 0) && installed.size() == childSas.size()) {
            done.complete(null);
        }
    }

    private void abort(String why) {
        done.completeExceptionally(Status.ABORTED.withDescription(why).asRuntimeException());
    }

    @Override
    public void ikeRekeyed(IkeSa old, IkeSa replacement) {
        if (ikeSas.replace(old, 0L, replacement.uniqueId())) {
            checkDone();
        }
    }

    @Override
    public void childRekeyed(IkeSa sa, ChildSa old, ChildSa replacement) {
        childSas.replace(old.inboundSpi(), 0, replacement.inboundSpi());
    }

    @Override
    public CompletionStage<?> childInstalled(IkeSa sa, ChildSa child) {
        // after childRekeyed: the observers hear of an install after the turn that made the CHILD SA
        for (Map.Entry<Integer, Integer> e : childSas.entrySet()) {
            if (e.getValue() == child.inboundSpi()) {
                installed.put(e.getKey(), sa.childSas().uniqueId(child.inboundSpi()));
                checkDone();
            }
        }
        return INSTALLED; // an observer's stage is not waited for
    }

    @Override
    public void failed(IkeSa sa, String reason) {
        if (reason.contains("TEMPORARY_FAILURE")) {
            return; // the engine tries again shortly (RFC 7296 §2.25)
        }
        Long ike = ikeSas.get(sa);
        if (ike != null && ike == 0) {
            abort("rekey of IKE SA #" + sa.uniqueId() + " failed: " + reason);
            return;
        }
        childNames.forEach((spi, name) -> {
            // not installed yet: not negotiated, or its replacement could not be installed
            if (!installed.containsKey(spi) && reason.startsWith("rekey of CHILD_SA " + name + " ")) {
                abort(reason);
            }
        });
    }

    @Override
    public void ikeDestroyed(IkeSa sa, String reason) {
        Long ike = ikeSas.get(sa);
        if (ike != null && ike == 0) {
            abort("IKE SA #" + sa.uniqueId() + " went away before its rekey was done: " + reason);
        }
    }

    @Override
    public void childDeleted(IkeSa sa, ChildSa child) {
        Integer replacement = childSas.get(child.inboundSpi());
        if (replacement != null && replacement == 0) {
            abort("CHILD SA " + child.name() + " was deleted before its rekey was done");
        }
    }
}
