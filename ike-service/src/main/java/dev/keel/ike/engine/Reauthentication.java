package dev.keel.ike.engine;

import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.ChildSas;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import dev.keel.ike.task.DeleteTask;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reauthentication of IKE SAs, make-before-break (RFC 7296 §2.8.3; strongSwan's
 * {@code make_before_break = yes}): a new IKE SA to the peer's current address with full
 * IKE_SA_INIT and IKE_AUTH carrying a CHILD SA of the first configuration the old IKE SA carries,
 * then one CREATE_CHILD_SA per further configuration on it; once every new CHILD SA is installed
 * (DESIGN §4), the old IKE SA is deleted with its CHILD SAs. The data plane sends on a child's
 * newest SA, so traffic moves over before the old ones go. A reauthentication that fails leaves
 * the old IKE SA as it is; its {@code over_time} still ends it.
 */
final class Reauthentication {

    private static final Logger LOG = LoggerFactory.getLogger(Reauthentication.class);

    /** Starts a new IKE SA for {@code c} to {@code remote} with child {@code first} in IKE_AUTH, on {@code old}'s thread. */
    @FunctionalInterface
    interface Starter {
        /** Completes with the new IKE SA once it is established and its CHILD SA installed. */
        CompletableFuture<IkeSa> start(IkeSa old, IkeConnection c, ChildConnection first, InetSocketAddress remote);
    }

    private final Starter starter;
    private final BiFunction<IkeSa, String, CompletableFuture<ChildSa>> createChild;
    /** The old IKE SAs being reauthenticated: one reauthentication each at a time. */
    private final Set<IkeSa> underway = ConcurrentHashMap.newKeySet();
    /** The installs of the further CHILD SAs of each new IKE SA, until the old one is deleted. */
    private final Map<IkeSa, List<CompletableFuture<?>>> installs = new ConcurrentHashMap<>();

    Reauthentication(Starter starter, BiFunction<IkeSa, String, CompletableFuture<ChildSa>> createChild) {
        this.starter = starter;
        this.createChild = createChild;
    }

    /**
     * Reauthenticates {@code sa} (or the IKE SA that replaced it in a rekey); on its thread. The
     * result completes with the new IKE SA once the old one's Delete is queued, or fails with why
     * nothing was done or the new IKE SA could not be made.
     */
    CompletableFuture<IkeSa> start(IkeSa sa) {
        IkeSa old = sa.current();
        if (!old.isAlive() || old.state() != IkeSaState.ESTABLISHED) {
            return CompletableFuture.failedFuture(new IllegalStateException(old + " is not established"));
        }
        IkeConnection c = old.connection();
        List<ChildConnection> children = childrenOf(old);
        if (children.isEmpty()) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                    "connection '" + c.name() + "' has no child to reauthenticate " + old + " with"));
        }
        if (!underway.add(old)) {
            return CompletableFuture.failedFuture(new IllegalStateException(old + " is being reauthenticated already"));
        }
        // the peer where it is now (it may have moved, or have no configured address: a responder's reauthentication)
        InetSocketAddress remote = new InetSocketAddress(old.endpoints().remote().getAddress(), c.remotePort());
        LOG.info("{}: reauthenticating with a new IKE SA to {} for CHILD_SAs {}", old, remote,
                children.stream().map(ChildConnection::name).toList());
        CompletableFuture<IkeSa> done = new CompletableFuture<>();
        starter.start(old, c, children.getFirst(), remote).thenCompose(fresh -> {
            List<CompletableFuture<?>> pending = Collections.synchronizedList(new ArrayList<>());
            installs.put(fresh, pending);
            CompletableFuture<?> chain = CompletableFuture.completedFuture(null);
            for (ChildConnection child : children.subList(1, children.size())) {
                // one after the other; a child that fails is logged and the others go on, as the IKE SA stands
                chain = chain.thenCompose(x -> createChild.apply(fresh, child.name()).handle((made, e) -> {
                    if (e != null) {
                        LOG.warn("{}: reauthentication of {}: CHILD_SA {} failed: {}", fresh, old, child.name(),
                                e.getMessage());
                    }
                    return null;
                }));
            }
            return chain.thenCompose(x -> CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new))
                    .handle((v, e) -> fresh));
        }).whenComplete((fresh, e) -> old.timers().execute(() -> {
            underway.remove(old);
            if (fresh != null) {
                installs.remove(fresh);
            }
            if (e != null) {
                LOG.warn("{}: reauthentication failed, the IKE SA stays until its over_time: {}", old, e.getMessage());
                done.completeExceptionally(e);
                return;
            }
            IkeSa current = old.current(); // a rekey may have replaced it meanwhile
            if (current.isAlive() && current.state() == IkeSaState.ESTABLISHED) {
                LOG.info("{}: reauthenticated by {}; deleting it", current, fresh);
                current.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.ikeSa(current));
            }
            done.complete(fresh.current());
        }));
        return done;
    }

    /** The install of {@code child} of {@code sa}: waited for when {@code sa} is a reauthentication's new IKE SA. */
    void installing(IkeSa sa, CompletionStage<?> installed) {
        List<CompletableFuture<?>> pending = installs.get(sa);
        if (pending != null) {
            pending.add(installed.toCompletableFuture());
        }
    }

    /**
     * The configurations of the CHILD SAs {@code sa} carries, once each in the order they were
     * made (a rekey's replaced one does not count), or the connection's first child when it
     * carries none.
     */
    private static List<ChildConnection> childrenOf(IkeSa sa) {
        Set<String> names = new LinkedHashSet<>();
        for (ChildSas.Status s : sa.childSas().statuses()) {
            if (!s.replaced()) {
                names.add(s.child().name());
            }
        }
        List<ChildConnection> out = new ArrayList<>();
        for (String name : names) {
            sa.connection().child(name).ifPresent(out::add);
        }
        if (out.isEmpty() && !sa.connection().children().isEmpty()) {
            out.add(sa.connection().children().getFirst());
        }
        return out;
    }
}
