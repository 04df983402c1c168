package dev.keel.ike.task;

import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.ike.session.RetransmitPolicy;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSelector;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.ike.crypto.IkeSaKeys;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.crypto.InvalidKeyExchangeException;
import dev.keel.ike.crypto.KeyDerivation;
import dev.keel.ike.crypto.KeyExchange;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.KePayload;
import dev.keel.ike.message.NoncePayload;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.message.ProposalWithSpi;
import dev.keel.ike.message.SaPayload;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * IKE SA rekey (RFC 7296 §1.3.2, §2.18): a CREATE_CHILD_SA with SA (the new SPIs in the
 * proposals), Ni/Nr and a mandatory KE; SKEYSEED = prf(SK_d (old), g^ir | Ni | Nr) with the old
 * PRF. The new IKE SA takes over the CHILD SAs, its message IDs start at 0, and the rekey's
 * initiator deletes the old IKE SA. When both sides rekey the IKE SA at once, both exchanges
 * complete; the new IKE SA with the lowest of the four nonces is deleted by the side that made it
 * and the other one takes the CHILD SAs (§2.8.2). An IKE rekey that meets a CHILD SA rekey of
 * ours, or an IKE SA already replaced, gets TEMPORARY_FAILURE (§2.25) and is retried after a
 * jittered delay.
 */
public final class IkeRekeyTask implements Task {

    private static final Logger LOG = LoggerFactory.getLogger(IkeRekeyTask.class);
    /** How often, 100 ms apart, a rekey waits for the IKE SA to finish its exchange in flight (2 minutes). */
    private static final int IDLE_WAITS = 1_200;

    private final IkeSa sa;
    private final boolean initiator;
    private KeyExchangeTransform group;
    private KeyExchange ke;
    private long ownSpi;
    private long peerSpi;
    private byte[] ownNonce;
    private byte[] peerNonce;
    private byte[] peerKe;
    private Proposal selected;
    private NotifyType error;
    private byte[] errorData = new byte[0];
    private int groupRetries;
    /** Initiator: the peer's rekey of the same IKE SA, answered while ours was in flight (§2.8.2). */
    private IkeRekeyTask collision;
    /** Responder: the new IKE SA this exchange made. */
    private IkeSa made;

    private IkeRekeyTask(IkeSa sa, boolean initiator) {
        this.sa = sa;
        this.initiator = initiator;
    }

    /** The responder's task, for a CREATE_CHILD_SA whose SA payload proposes protocol IKE. */
    public static IkeRekeyTask responder(IkeSa sa) {
        return new IkeRekeyTask(sa, false);
    }

    /** Rekeys {@code sa} (on its thread) once it has no exchange of its own in flight. */
    public static void start(IkeSa sa) {
        start(sa, 0);
    }

    private static void start(IkeSa first, int waited) {
        IkeSa sa = first.current();
        if (!sa.isAlive() || sa.state() != IkeSaState.ESTABLISHED || sa.ikeRekeying()) {
            return;
        }
        if (sa.tasks().busy() || sa.tasks().queuedCount() > 0) {
            if (waited < IDLE_WAITS) {
                sa.timers().schedule(Duration.ofMillis(100), () -> start(sa, waited + 1));
            }
            return;
        }
        sa.tasks().queue(ExchangeType.CREATE_CHILD_SA, new IkeRekeyTask(sa, true));
    }

    @Override
    public Status build(OutboundMessage m) {
        return initiator ? buildRequest(m) : buildResponse(m);
    }

    @Override
    public Status process(IkeMessage m) {
        return initiator ? processResponse(m) : processRequest(m);
    }

    // ---- initiator ----

    private Status buildRequest(OutboundMessage m) {
        sa.ikeRekeying(true);
        List<Proposal> proposals = rekeyProposals(sa).stream().map(Proposal::effective).toList();
        if (group == null) { // the group in use is the best guess (strongSwan does the same)
            KeyExchangeTransform current = sa.proposal().keyExchangeMethods().getFirst();
            group = proposals.stream().anyMatch(p -> p.keyExchangeMethods().contains(current))
                    ? current : proposals.getFirst().keyExchangeMethods().getFirst();
        }
        if (ke == null) {
            ke = KeyExchange.create(group, sa.env().random());
        }
        if (ownSpi == 0) {
            ownSpi = sa.newIkeSpi();
        }
        ownNonce = CreateChildSaTask.nonce(sa);
        // §2.18: the new SPIs travel in the proposals, 8 bytes each
        m.add(SaPayload.fromProposals(proposals.stream().map(p -> new ProposalWithSpi(p, ownSpi, 8)).toList()));
        m.add(new NoncePayload(ownNonce));
        m.add(new KePayload(group.id(), ke.publicValue()));
        return Status.DONE;
    }

    private Status processResponse(IkeMessage m) {
        Optional<NotifyPayload> invalidKe = m.notify(NotifyType.INVALID_KE_PAYLOAD);
        if (invalidKe.isPresent() && retryWithGroup(invalidKe.get().data())) {
            return Status.NEED_MORE;
        }
        sa.ikeRekeying(false);
        Optional<NotifyPayload> err = m.payloads(NotifyPayload.class).stream().filter(NotifyPayload::isError).findFirst();
        if (err.isPresent()) {
            NotifyType type = err.get().notifyType();
            closeKe();
            if (collision != null) { // §2.8.2: the peer finished its rekey first and refused ours; its new SA survives
                LOG.info("{}: our IKE rekey was refused ({}), the peer's replaced it", sa, type);
                peerRekeySurvives();
            } else if (type == NotifyType.TEMPORARY_FAILURE) { // §2.25.2: the peer is busy rekeying; again a bit later
                LOG.info("{}: peer answered our IKE rekey with TEMPORARY_FAILURE, retrying", sa);
                sa.timers().schedule(Duration.ofMillis(500 + sa.env().random().nextInt(1_500)), () -> start(sa));
            } else {
                sa.env().events().failed(sa, "peer refused to rekey the IKE SA: " + type);
            }
            return Status.DONE;
        }
        Optional<SaPayload> saPayload = m.first(SaPayload.class);
        Optional<NoncePayload> nonce = m.first(NoncePayload.class);
        Optional<KePayload> kePayload = m.first(KePayload.class);
        if (saPayload.isEmpty() || nonce.isEmpty() || kePayload.isEmpty()) {
            return refused("IKE rekey response without SA, Nr or KEr");
        }
        List<ProposalWithSpi> chosen = saPayload.get().toProposals();
        if (chosen.size() != 1 || chosen.getFirst().spiSize() != 8 || chosen.getFirst().spi() == 0) {
            return refused("IKE rekey response must choose one proposal with an 8-byte SPI");
        }
        Optional<Proposal> accepted = ProposalSelector.select(rekeyProposals(sa),
                List.of(chosen.getFirst().proposal()));
        if (accepted.isEmpty() || !accepted.get().keyExchangeMethods().equals(List.of(group))
                || kePayload.get().group() != group.id()) {
            return refused("responder chose an IKE proposal or group we did not offer: " + chosen.getFirst().proposal());
        }
        selected = accepted.get();
        peerSpi = chosen.getFirst().spi();
        peerNonce = nonce.get().nonce();
        peerKe = kePayload.get().data();
        IkeSa next = install(true, ownSpi, peerSpi, ownNonce, peerNonce, collision != null);
        if (next == null) {
            return refused("peer's key exchange value rejected in the IKE rekey");
        }
        if (collision != null && lostTo(collision) && collision.made.isAlive()) {
            // §2.8.2: the new IKE SA with the lowest of the four nonces is deleted by the side that made it
            LOG.info("{}: IKE rekey collision lost, deleting our redundant {}", sa, next);
            peerRekeySurvives();
            next.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.ikeSa(next));
            return Status.DONE;
        }
        if (collision != null) {
            LOG.info("{}: IKE rekey collision won, the peer deletes its redundant {}", sa, collision.made);
            sa.handOver(next);
        }
        // §2.18 / §1.3.2: the rekey's initiator (of the surviving new IKE SA, §2.8.2) deletes the old IKE SA
        sa.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.ikeSa(sa));
        return Status.DONE;
    }

    /**
     * §2.8.2: the new IKE SA the peer's rekey made takes the CHILD SAs; the peer deletes the old
     * IKE SA, which goes anyway when it would have given up waiting for that Delete.
     */
    private void peerRekeySurvives() {
        IkeSa old = sa;
        IkeSa next = collision.made;
        if (!next.isAlive()) { // gone already (its give-up time passed): the old IKE SA keeps its CHILD SAs
            LOG.warn("{}: the peer's new IKE SA {} of the rekey collision is gone; keeping this one", old, next);
            return;
        }
        old.handOver(next);
        old.timers().schedule(giveUpTime(), () -> old.destroy("replaced by " + next + ", no Delete from the peer"));
    }

    /**
     * The peer deletes {@code sa} while our rekey of it is in flight: with a colliding rekey of the
     * peer's answered, the peer did not see the collision (or won it) and its new IKE SA takes the
     * CHILD SAs; we forget our own rekey (§2.8.2, §2.25.2). Called before the IKE SA goes.
     */
    public static void peerDeletes(IkeSa sa) {
        for (Task t : sa.tasks().activeTasks()) {
            if (t instanceof IkeRekeyTask ours && ours.initiator && ours.collision != null && sa.successor() == null) {
                LOG.info("{}: the peer deletes it during our IKE rekey; its new IKE SA {} survives", sa,
                        ours.collision.made);
                ours.closeKe();
                sa.ikeRekeying(false);
                sa.handOver(ours.collision.made);
            }
        }
    }

    /** Our rekey of {@code sa} while its request is in flight, or null. */
    private static IkeRekeyTask inFlight(IkeSa sa) {
        for (Task t : sa.tasks().activeTasks()) {
            if (t instanceof IkeRekeyTask r && r.initiator) {
                return r;
            }
        }
        return null;
    }

    /** True when the new IKE SA of our exchange holds the lowest of the four nonces (§2.8.2). */
    private boolean lostTo(IkeRekeyTask passive) {
        byte[] ours = CreateChildSaTask.lower(ownNonce, peerNonce);
        byte[] theirs = CreateChildSaTask.lower(passive.ownNonce, passive.peerNonce);
        return CreateChildSaTask.lower(ours, theirs) == ours && !Arrays.equals(ours, theirs);
    }

    private boolean retryWithGroup(byte[] data) {
        if (data.length != 2 || ++groupRetries > 2) {
            return false;
        }
        KeyExchangeTransform wanted = KeyExchangeTransform.byId(((data[0] & 0xff) << 8) | (data[1] & 0xff));
        if (wanted == null || wanted == group || sa.connection().proposals().stream()
                .noneMatch(p -> p.keyExchangeMethods().contains(wanted))) {
            return false;
        }
        group = wanted;
        closeKe();
        return true;
    }

    private Status refused(String reason) {
        closeKe();
        sa.env().events().failed(sa, reason);
        if (collision != null) { // §2.8.2: ours failed, the peer's went through
            peerRekeySurvives();
        }
        return Status.DONE;
    }

    // ---- responder ----

    private Status processRequest(IkeMessage m) {
        if (ChildRekeyTask.anyInFlight(sa) || (sa.ikeRekeying() && inFlight(sa) == null)) {
            // §2.25: a CHILD SA rekey of ours is in flight (or our IKE rekey waits to be sent again): later
            return refuse(NotifyType.TEMPORARY_FAILURE, new byte[0], "we are rekeying ourselves");
        }
        Optional<SaPayload> saPayload = m.first(SaPayload.class);
        Optional<NoncePayload> nonce = m.first(NoncePayload.class);
        Optional<KePayload> kePayload = m.first(KePayload.class);
        if (saPayload.isEmpty() || nonce.isEmpty()) {
            return refuse(NotifyType.INVALID_SYNTAX, new byte[0], "IKE rekey request without SA or Ni");
        }
        List<ProposalWithSpi> offered = saPayload.get().toProposals().stream()
                .filter(p -> p.spiSize() == 8 && p.spi() != 0).toList();
        Optional<Proposal> match = ProposalSelector.select(rekeyProposals(sa),
                offered.stream().map(ProposalWithSpi::proposal).toList());
        if (match.isEmpty() || match.get().keyExchangeMethods().isEmpty()) {
            // §2.18: an IKE rekey without a key exchange must not be accepted
            return refuse(NotifyType.NO_PROPOSAL_CHOSEN, new byte[0], "no acceptable IKE proposal in the rekey");
        }
        group = match.get().keyExchangeMethods().getFirst();
        if (kePayload.isEmpty() || kePayload.get().group() != group.id()) {
            return refuse(NotifyType.INVALID_KE_PAYLOAD, ByteBuffer.allocate(2).putShort((short) group.id()).array(),
                    "initiator's KE is not of group " + group);
        }
        selected = match.get();
        int number = selected.number();
        peerSpi = offered.stream().filter(p -> p.proposal().number() == number).findFirst().orElseThrow().spi();
        peerNonce = nonce.get().nonce();
        peerKe = kePayload.get().data();
        return Status.DONE;
    }

    private Status refuse(NotifyType type, byte[] data, String reason) {
        LOG.debug("{}: answering IKE rekey with {}: {}", sa, type, reason);
        error = type;
        errorData = data;
        return Status.DONE;
    }

    private Status buildResponse(OutboundMessage m) {
        if (error != null) {
            m.onlyError(error, errorData);
            return Status.DONE;
        }
        ke = KeyExchange.create(group, sa.env().random());
        ownSpi = sa.newIkeSpi();
        ownNonce = CreateChildSaTask.nonce(sa);
        m.add(SaPayload.fromProposals(List.of(new ProposalWithSpi(selected, ownSpi, 8))));
        m.add(new NoncePayload(ownNonce));
        m.add(new KePayload(group.id(), ke.publicValue()));
        IkeSa old = sa;
        IkeRekeyTask ours = inFlight(sa);
        IkeSa next = install(false, peerSpi, ownSpi, peerNonce, ownNonce, ours != null);
        if (next == null) {
            m.onlyError(NotifyType.INVALID_SYNTAX, new byte[0]); // RFC 6989 §2: a bad public value
            return Status.DONE;
        }
        made = next;
        if (ours != null) {
            // §2.8.2: both exchanges complete; our response settles which new IKE SA survives. Should the
            // peer's be the redundant one and its Delete never come, it goes when the peer would have given up
            LOG.info("{}: IKE rekey collision, answered the peer's rekey with {}", sa, next);
            ours.collision = this;
            next.timers().schedule(giveUpTime(), () -> {
                if (next.isAlive() && old.successor() != next) {
                    next.destroy("redundant IKE SA of a rekey collision (RFC 7296 §2.8.2), no Delete from the peer");
                }
            });
            return Status.DONE;
        }
        // the initiator deletes the old SA; should its Delete never come, it goes when it would have given up
        old.timers().schedule(giveUpTime(), () -> old.destroy("replaced by " + next + ", no Delete from the peer"));
        return Status.DONE;
    }

    // ---- both ----

    /** The new IKE SA: replacing this one, or with {@code candidate} only made, its CHILD SAs staying (§2.8.2). */
    private IkeSa install(boolean rekeyInitiator, long spiI, long spiR, byte[] ni, byte[] nr, boolean candidate) {
        byte[] gir;
        try {
            gir = ke.sharedSecret(peerKe);
        } catch (InvalidKeyExchangeException e) {
            LOG.debug("{}: bad KE value: {}", sa, e.getMessage());
            return null;
        } finally {
            closeKe();
        }
        byte[] skD = sa.keys().skD();
        try {
            IkeSuite suite = IkeSuite.from(selected);
            // §2.18: SKEYSEED with the old SA's PRF and SK_d, then §2.14 with the new suite, nonces and SPIs
            IkeSaKeys keys = KeyDerivation.rekeyIkeSa(suite, sa.suite().prf(), skD, gir, ni, nr,
                    IkeInitTask.spiBytes(spiI), IkeInitTask.spiBytes(spiR));
            return candidate ? sa.rekeyCandidate(rekeyInitiator, spiI, spiR, selected, suite, keys, ni.clone(), nr.clone())
                    : sa.replaceWith(rekeyInitiator, spiI, spiR, selected, suite, keys, ni.clone(), nr.clone());
        } finally {
            Arrays.fill(gir, (byte) 0);
            Arrays.fill(skD, (byte) 0);
        }
    }

    private Duration giveUpTime() {
        RetransmitPolicy p = sa.env().retransmit();
        Duration total = Duration.ZERO;
        for (int i = 0; i <= p.tries(); i++) {
            total = total.plus(p.delayAfter(i));
        }
        return total;
    }

    private void closeKe() {
        if (ke != null) {
            ke.close();
            ke = null;
        }
    }

    /**
     * The connection's IKE proposals for a rekey: without additional key exchanges, which would
     * take IKE_FOLLOWUP_KE (RFC 9370 §2.2.4), not run here. The new SKEYSEED still depends on
     * the old SA's SK_d, and so on its additional key exchanges (§2.18: prf(SK_d (old), ...)).
     */
    static List<Proposal> rekeyProposals(IkeSa sa) {
        return sa.connection().proposals().stream().map(Proposal::withoutAdditionalKeyExchanges).toList();
    }
}
