package dev.keel.ike.admin;

import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSa;
import dev.keel.proto.v1.TerminateResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One Terminate (swanctl --terminate): each IKE SA named is deleted with its CHILD SAs, each CHILD
 * SA named alone, by the INFORMATIONAL exchange that tells the peer (RFC 7296 §1.4.1); the answer
 * comes once all are gone. One the peer has not answered for within the timeout is deleted here
 * anyway, as its retransmissions would end in after all (§2.4), only sooner.
 */
final class Termination implements IkeEvents {

    private final IkeEngine engine;
    private final List<Targets.Target> targets;
    private final Duration timeout;
    /** The IKE SAs whose end is awaited: the targets and, after a rekey, what replaced them. */
    private final Set<IkeSa> ikeSas = ConcurrentHashMap.newKeySet();
    /** The CHILD SAs whose end is awaited, by our inbound SPI (unique on the node while they live), with their IKE SA. */
    private final Map<Integer, IkeSa> childSas = new ConcurrentHashMap<>();
    private final CompletableFuture<Void> done = new CompletableFuture<>();

    Termination(IkeEngine engine, List<Targets.Target> targets, Duration timeout) {
        this.engine = engine;
        this.targets = List.copyOf(targets);
        this.timeout = timeout;
    }

    /** Sends the Deletes; completes with the unique ids deleted. */
    CompletableFuture<TerminateResponse> start() {
        TerminateResponse.Builder answer = TerminateResponse.newBuilder();
        for (Targets.Target t : targets) {
            if (t.child() == null) {
                ikeSas.add(t.ike().sa());
                answer.addIkeSas(t.ike().info().getUniqueId());
                t.ike().info().getChildrenList().forEach(c -> answer.addChildSas(c.getUniqueId()));
            } else {
                childSas.put(t.child().getSpiIn(), t.ike().sa());
                answer.addChildSas(t.child().getUniqueId());
            }
        }
        AutoCloseable observation = engine.observe(this);
        done.whenComplete((r, e) -> close(observation));
        for (Targets.Target t : targets) {
            if (t.child() == null) {
                engine.terminate(t.ike().sa());
            } else {
                engine.terminateChild(t.ike().sa(), t.child().getSpiIn());
            }
        }
        CompletableFuture.delayedExecutor(timeout.toMillis(), TimeUnit.MILLISECONDS).execute(this::forceRest);
        checkDone();
        TerminateResponse deleted = answer.build();
        return done.thenApply(v -> deleted);
    }

    /** What the peer has not let go within the timeout is deleted here, on each SA's thread. */
    private void forceRest() {
        if (done.isDone()) {
            return;
        }
        String why = "the peer did not answer the Delete within " + timeout.toMillis() + " ms";
        List<CompletableFuture<?>> forced = new ArrayList<>();
        for (IkeSa sa : ikeSas) {
            forced.add(engine.onSaThread(sa, s -> {
                s.destroy(why);
                return null;
            }));
        }
        childSas.forEach((spi, sa) -> forced.add(engine.onSaThread(sa, s -> {
            IkeSa holder = s.current();
            holder.childSas().byInboundSpi(spi).ifPresent(holder.childSas()::remove);
            return null;
        })));
        // the events above ended them; whatever went meanwhile without one is gone too
        CompletableFuture.allOf(forced.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> done.complete(null));
    }

    private void checkDone() {
        if (ikeSas.isEmpty() && childSas.isEmpty()) {
            done.complete(null);
        }
    }

    @Override
    public void ikeRekeyed(IkeSa old, IkeSa replacement) {
        if (ikeSas.contains(old)) {
            ikeSas.add(replacement);
        }
    }

    @Override
    public void ikeDestroyed(IkeSa sa, String reason) {
        gone(sa);
    }

    @Override
    public void ikeAbandoned(IkeSa sa, String reason) {
        gone(sa);
    }

    private void gone(IkeSa sa) {
        if (ikeSas.remove(sa)) {
            checkDone();
        }
    }

    @Override
    public void childDeleted(IkeSa sa, ChildSa child) {
        if (childSas.remove(child.inboundSpi()) != null) {
            checkDone();
        }
    }

    private static void close(AutoCloseable observation) {
        try {
            observation.close();
        } catch (Exception ignored) {
            // removing from a list throws nothing
        }
    }
}
