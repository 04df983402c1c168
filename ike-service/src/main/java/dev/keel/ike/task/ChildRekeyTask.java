package dev.keel.ike.task;

import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The initiator's CHILD SA rekey (RFC 7296 §1.3.3, §2.8): a CREATE_CHILD_SA with N(REKEY_SA)
 * makes the replacement, which is installed and reported, then the old SA is deleted with an
 * INFORMATIONAL exchange. When the peer rekeyed the same SA at the same time, the exchange with
 * the lowest of the four nonces made the redundant SA and its initiator deletes it (§2.8.1);
 * the other side deletes the old one.
 */
public final class ChildRekeyTask implements Task {

    private static final Logger LOG = LoggerFactory.getLogger(ChildRekeyTask.class);

    /** How often, 100 ms apart, a rekey waits for the IKE SA to finish its exchange in flight (2 minutes). */
    private static final int IDLE_WAITS = 1_200;

    private final IkeSa sa;
    private final ChildSa old;
    private final CreateChildSaTask create;
    private final ChildConnection config;
    private CreateChildSaTask collision;

    private ChildRekeyTask(IkeSa sa, ChildSa old, ChildConnection config) {
        this.sa = sa;
        this.old = old;
        this.config = config;
        this.create = CreateChildSaTask.rekey(sa, config, old);
    }

    /**
     * Rekeys the CHILD SA with our inbound SPI {@code inboundSpi} on {@code sa} (or the IKE SA that
     * replaced it), on the IKE SA's thread: nothing when it is gone, already replaced or being
     * rekeyed; otherwise once the IKE SA has no exchange of its own in flight.
     */
    public static void start(IkeSa sa, int inboundSpi) {
        start(sa, inboundSpi, 0);
    }

    private static void start(IkeSa first, int inboundSpi, int waited) {
        IkeSa sa = first.current();
        if (!sa.isAlive() || sa.state() != IkeSaState.ESTABLISHED) {
            return;
        }
        Optional<ChildSa> old = sa.childSas().byInboundSpi(inboundSpi);
        if (old.isEmpty() || sa.childSas().isReplaced(inboundSpi)) {
            return;
        }
        Optional<ChildConnection> config = sa.connection().child(old.get().name());
        if (config.isEmpty()) {
            LOG.warn("{}: cannot rekey {}: its configuration is gone", sa, old.get());
            return;
        }
        if (sa.tasks().busy() || sa.tasks().queuedCount() > 0 || sa.ikeRekeying()) {
            // window size 1: wait, so that the SA is looked at again right before the request is built (and a
            // rekey of this SA already in flight is over by then)
            if (waited < IDLE_WAITS) {
                sa.timers().schedule(Duration.ofMillis(100), () -> start(sa, inboundSpi, waited + 1));
            }
            return;
        }
        sa.tasks().queue(ExchangeType.CREATE_CHILD_SA, new ChildRekeyTask(sa, old.get(), config.get()));
    }

    /** Our rekey of the CHILD SA with inbound SPI {@code inboundSpi} while its request is in flight, or null. */
    static ChildRekeyTask inFlight(IkeSa sa, int inboundSpi) {
        for (Task t : sa.tasks().activeTasks()) {
            if (t instanceof ChildRekeyTask r && r.old.inboundSpi() == inboundSpi) {
                return r;
            }
        }
        return null;
    }

    /** True while a rekey of one of our CHILD SAs is in flight. */
    static boolean anyInFlight(IkeSa sa) {
        return sa.tasks().activeTasks().stream().anyMatch(ChildRekeyTask.class::isInstance);
    }

    /** The peer's rekey of the same CHILD SA, answered while ours was in flight (§2.8.1). */
    void collidedWith(CreateChildSaTask passive) {
        LOG.info("{}: rekey collision on {}", sa, old);
        this.collision = passive;
    }

    @Override
    public Status build(OutboundMessage m) {
        return create.build(m);
    }

    @Override
    public Task movedTo(IkeSa next) {
        return new ChildRekeyTask(next, old, config);
    }

    @Override
    public Status process(IkeMessage m) {
        Status status = create.process(m);
        if (status == Status.NEED_MORE) {
            return status; // INVALID_KE_PAYLOAD: again with the group the peer wants
        }
        boolean oldAlive = sa.childSas().byInboundSpi(old.inboundSpi()).isPresent();
        boolean peerRekeyed = collision != null && collision.created() != null;
        ChildSa fresh = create.created();
        if (fresh == null) {
            if (peerRekeyed) { // §2.8.1/§2.25: the peer's rekey went through; it deletes the old SA
                LOG.info("{}: our rekey of {} failed ({}), the peer's replaced it", sa, old, create.failure());
                return Status.DONE;
            }
            sa.env().events().failed(sa, "rekey of CHILD_SA " + old.name() + " failed: " + create.failure());
            if (!oldAlive) {
                return Status.DONE;
            }
            if (create.peerError() == NotifyType.TEMPORARY_FAILURE) {
                retryLater(sa, old.inboundSpi());
            } else if (create.peerError() == NotifyType.CHILD_SA_NOT_FOUND) {
                // the peer lost it: replace it by a fresh CHILD SA, unless another of its configuration is there
                sa.childSas().remove(old);
                if (sa.children().stream().noneMatch(c -> c.name().equals(old.name()))) {
                    sa.tasks().queue(ExchangeType.CREATE_CHILD_SA,
                            CreateChildSaTask.newChild(sa, config, new CompletableFuture<>()));
                }
            }
            return Status.DONE;
        }
        if (peerRekeyed && lostTo(collision)) {
            // §2.8.1: the SA made with the lowest of the four nonces is redundant; its creator deletes it
            LOG.info("{}: rekey collision lost, deleting redundant {}", sa, fresh);
            sa.childSas().add(fresh, installed -> { });
            sa.childSas().markReplaced(old.inboundSpi(), collision.created().inboundSpi());
            sa.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.childSa(sa, fresh));
            return Status.DONE;
        }
        if (peerRekeyed) {
            LOG.info("{}: rekey collision won, the peer deletes its redundant CHILD_SA", sa);
        }
        if (oldAlive) {
            sa.childSas().markReplaced(old.inboundSpi(), fresh.inboundSpi()); // a rekey of it by the peer now gets TEMPORARY_FAILURE
        }
        sa.childSas().add(fresh, installed -> replaced(fresh, installed));
        sa.env().events().childRekeyed(sa, old, fresh); // before its install is heard of, as observers expect
        return Status.DONE;
    }

    /**
     * Once the node answered for the replacement (before our next request leaves): installed, the
     * old SA is deleted (§2.8, the initiator deletes); not installed, the replacement is deleted
     * instead, the old SA stays and is rekeyed again a little later, as after TEMPORARY_FAILURE.
     */
    private void replaced(ChildSa fresh, boolean installed) {
        IkeSa current = sa.current();
        if (!current.isAlive()) {
            return;
        }
        boolean oldAlive = current.childSas().byInboundSpi(old.inboundSpi()).isPresent();
        if (installed) {
            if (oldAlive) {
                current.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.childSa(current, old));
            }
            return;
        }
        LOG.warn("{}: the replacement {} of {} could not be installed; deleting it and keeping the old one",
                current, fresh, old);
        sa.env().events().failed(current, "rekey of CHILD_SA " + old.name() + " failed: its replacement could not be installed");
        DeleteTask.ifNotInstalled(current, fresh).accept(false);
        if (oldAlive) {
            current.childSas().unmarkReplaced(old.inboundSpi());
            retryLater(current, old.inboundSpi());
        }
    }

    /** §2.25: again a little later, jittered so that two sides do not collide again. */
    private static void retryLater(IkeSa sa, int inboundSpi) {
        long delay = 500 + sa.env().random().nextInt(1_500);
        sa.timers().schedule(Duration.ofMillis(delay), () -> start(sa, inboundSpi));
    }

    private boolean lostTo(CreateChildSaTask passive) {
        byte[] ours = create.lowerNonce();
        byte[] theirs = passive.lowerNonce();
        return CreateChildSaTask.lower(ours, theirs) == ours && !Arrays.equals(ours, theirs);
    }
}
