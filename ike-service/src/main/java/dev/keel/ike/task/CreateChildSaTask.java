package dev.keel.ike.task;

import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.crypto.ChildSaKeys;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.crypto.InvalidKeyExchangeException;
import dev.keel.ike.crypto.KeyDerivation;
import dev.keel.ike.crypto.KeyExchange;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.KePayload;
import dev.keel.ike.message.NoncePayload;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.message.ProposalWithSpi;
import dev.keel.ike.message.SaPayload;
import dev.keel.ike.message.TsPayload;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CHILD SA made by a CREATE_CHILD_SA exchange (RFC 7296 §1.3.1 new, §1.3.3 rekey): SA with our
 * inbound SPI, Ni/Nr, a KE when the ESP proposal names a key exchange method (PFS), TSi/TSr, and
 * for a rekey N(REKEY_SA) with the old SA's inbound SPI. KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr)
 * (§2.17). The initiator retries with the group a responder asks for in INVALID_KE_PAYLOAD.
 *
 * <p>For a new CHILD SA the task installs it; for a rekey it leaves the result to
 * {@link ChildRekeyTask} (initiator) or reports the rekey itself (responder, §2.8: the
 * initiator deletes the old SA).
 */
public final class CreateChildSaTask implements Task {

    private static final Logger LOG = LoggerFactory.getLogger(CreateChildSaTask.class);

    private final IkeSa sa;
    private final boolean initiator;
    private final ChildSa rekeyed;
    private final CompletableFuture<ChildSa> outcome;
    private ChildConnection child;
    private KeyExchangeTransform group;
    private KeyExchange ke;
    private byte[] ownNonce;
    private byte[] peerNonce;
    private byte[] peerKe;
    private int inboundSpi;
    private ChildNegotiation.Agreed agreed;
    private NotifyType error;
    private byte[] errorData = new byte[0];
    private NotifyType peerError;
    private ChildSa created;
    private ChildSa peerRekeyed;
    private int groupRetries;
    private String failure;

    private CreateChildSaTask(IkeSa sa, boolean initiator, ChildConnection child, ChildSa rekeyed,
            CompletableFuture<ChildSa> outcome) {
        this.sa = sa;
        this.initiator = initiator;
        this.child = child;
        this.rekeyed = rekeyed;
        this.outcome = outcome;
    }

    /** The initiator's task for an additional CHILD SA of configuration {@code child}; {@code outcome} completes with it. */
    public static CreateChildSaTask newChild(IkeSa sa, ChildConnection child, CompletableFuture<ChildSa> outcome) {
        return new CreateChildSaTask(sa, true, child, null, outcome);
    }

    /** The initiator's part of a rekey of {@code old} (whose configuration is {@code child}). */
    static CreateChildSaTask rekey(IkeSa sa, ChildConnection child, ChildSa old) {
        return new CreateChildSaTask(sa, true, child, old, null);
    }

    /** The responder's task: a new CHILD SA, or a rekey when the request has N(REKEY_SA). */
    public static CreateChildSaTask responder(IkeSa sa) {
        return new CreateChildSaTask(sa, false, null, null, null);
    }

    @Override
    public Status build(OutboundMessage m) {
        return initiator ? buildRequest(m) : buildResponse(m);
    }

    @Override
    public Task movedTo(IkeSa next) {
        return initiator && rekeyed == null ? newChild(next, child, outcome) : null;
    }

    @Override
    public Status process(IkeMessage m) {
        return initiator ? processResponse(m) : processRequest(m);
    }

    /** The CHILD SA this exchange made, or null. */
    ChildSa created() {
        return created;
    }

    /** Why the exchange made no CHILD SA, or null. */
    String failure() {
        return failure;
    }

    /** The error notify the responder answered with, or null. */
    NotifyType peerError() {
        return peerError;
    }

    /** The lower of the two nonces of this exchange, which decides a rekey collision (§2.8.1). */
    byte[] lowerNonce() {
        return lower(ownNonce, peerNonce);
    }

    // ---- initiator ----

    private Status buildRequest(OutboundMessage m) {
        List<Proposal> proposals = child.espProposals().stream().map(Proposal::effective).toList();
        if (inboundSpi == 0) {
            inboundSpi = sa.env().spis().allocate();
        }
        if (group == null) {
            group = proposals.getFirst().keyExchangeMethods().stream()
                    .filter(g -> g != KeyExchangeTransform.NONE).findFirst().orElse(KeyExchangeTransform.NONE);
        }
        if (group != KeyExchangeTransform.NONE && ke == null) {
            ke = KeyExchange.create(group, sa.env().random());
        }
        ownNonce = nonce(sa);
        if (rekeyed != null) {
            // §1.3.3: the SPI in REKEY_SA is the one the initiator expects to receive on (its inbound SPI)
            m.add(new NotifyPayload(rekeyed.proposal().protocol().id(), spi4(rekeyed.inboundSpi()), NotifyType.REKEY_SA.value(),
                    new byte[0]));
        }
        IpsecMode wanted = rekeyed != null ? rekeyed.mode() : child.mode();
        if (wanted == IpsecMode.TRANSPORT) {
            m.notify(NotifyType.USE_TRANSPORT_MODE);
        }
        m.add(SaPayload.fromProposals(proposals.stream().map(p -> ProposalWithSpi.withChildSpi(p, inboundSpi)).toList()));
        m.add(new NoncePayload(ownNonce));
        if (ke != null) {
            m.add(new KePayload(group.id(), ke.publicValue()));
        }
        // §2.8: a rekey keeps the selectors (and algorithms) of the SA it replaces
        m.add(TsPayload.of(true, rekeyed != null ? rekeyed.localTs() : child.localTs()));
        m.add(TsPayload.of(false, rekeyed != null ? rekeyed.remoteTs() : child.remoteTs()));
        // stored with the request: a node that takes the IKE SA over undoes what the peer may have made of it
        sa.tasks().childExchangeBuilt(rekeyed == null ? 0 : rekeyed.inboundSpi(), inboundSpi);
        return Status.DONE;
    }

    private Status processResponse(IkeMessage m) {
        Optional<NotifyPayload> invalidKe = m.notify(NotifyType.INVALID_KE_PAYLOAD);
        if (invalidKe.isPresent() && retryWithGroup(invalidKe.get().data())) {
            return Status.NEED_MORE;
        }
        Optional<NotifyPayload> err = m.payloads(NotifyPayload.class).stream().filter(NotifyPayload::isError).findFirst();
        if (err.isPresent()) {
            peerError = err.get().notifyType();
            return failed("peer refused CHILD_SA " + child.name() + " in CREATE_CHILD_SA: "
                    + (peerError == null ? "error " + err.get().notifyTypeValue() : peerError));
        }
        Optional<NoncePayload> nonce = m.first(NoncePayload.class);
        if (nonce.isEmpty()) {
            return failed("CREATE_CHILD_SA response without Nr for CHILD_SA " + child.name());
        }
        List<TrafficSelector> offeredI = rekeyed != null ? rekeyed.localTs() : child.localTs();
        List<TrafficSelector> offeredR = rekeyed != null ? rekeyed.remoteTs() : child.remoteTs();
        IpsecMode wanted = rekeyed != null ? rekeyed.mode() : child.mode();
        switch (ChildNegotiation.check(m, child, offeredI, offeredR, wanted, false)) {
            case ChildNegotiation.Answer.Unacceptable u -> {
                return failed("CREATE_CHILD_SA " + u.reason());
            }
            case ChildNegotiation.Answer.Accepted a -> agreed = a.agreed();
        }
        KeyExchangeTransform chosenGroup = groupOf(agreed.proposal());
        if (chosenGroup != group) {
            return failed("responder chose key exchange " + chosenGroup + " but we sent " + group);
        }
        Optional<KePayload> kePayload = m.first(KePayload.class);
        if (group != KeyExchangeTransform.NONE) {
            if (kePayload.isEmpty() || kePayload.get().group() != group.id()) {
                return failed("CREATE_CHILD_SA response without KEr of group " + group);
            }
            peerKe = kePayload.get().data();
        }
        peerNonce = nonce.get().nonce();
        created = derive(ownNonce, peerNonce, agreed.tsi(), agreed.tsr());
        if (created == null) {
            return failed("peer's key exchange value rejected");
        }
        if (rekeyed == null) {
            sa.childSas().add(created, DeleteTask.ifNotInstalled(sa, created));
            if (outcome != null) {
                outcome.complete(created);
            }
        }
        return Status.DONE;
    }

    private boolean retryWithGroup(byte[] data) {
        if (data.length != 2 || ++groupRetries > 2) {
            return false;
        }
        KeyExchangeTransform wanted = KeyExchangeTransform.byId(((data[0] & 0xff) << 8) | (data[1] & 0xff));
        boolean offered = wanted != null && wanted != group && child.espProposals().stream()
                .anyMatch(p -> p.keyExchangeMethods().contains(wanted));
        if (!offered) {
            return false;
        }
        LOG.debug("{}: peer wants {} for CHILD_SA {}, retrying", sa, wanted, child.name());
        group = wanted;
        closeKe();
        return true;
    }

    private Status failed(String reason) {
        closeKe();
        sa.env().spis().release(inboundSpi);
        failure = reason;
        if (rekeyed == null) { // a failed rekey is reported by ChildRekeyTask, which knows whether it matters
            sa.env().events().failed(sa, reason);
        }
        if (outcome != null) {
            outcome.completeExceptionally(new IllegalStateException(reason));
        }
        return Status.DONE;
    }

    // ---- responder ----

    private Status processRequest(IkeMessage m) {
        Optional<NotifyPayload> rekey = m.notify(NotifyType.REKEY_SA);
        if (rekey.isPresent()) {
            byte[] spi = rekey.get().spi();
            int protocolId = rekey.get().protocolId();
            if ((protocolId != Protocol.ESP.id() && protocolId != Protocol.AH.id()) || spi.length != 4) {
                return refuse(NotifyType.INVALID_SYNTAX, "REKEY_SA for a protocol or SPI size Keel does not run");
            }
            // the SPI is the peer's inbound one: ours to send to
            Optional<ChildSa> old = sa.childSas().byOutboundSpi(ByteBuffer.wrap(spi).getInt());
            if (old.isEmpty()) {
                return refuse(NotifyType.CHILD_SA_NOT_FOUND, "peer asked to rekey a CHILD_SA we do not have");
            }
            if (sa.childSas().isReplaced(old.get().inboundSpi()) || sa.ikeRekeying()) {
                // §2.25: already rekeyed (its delete is on the way), or §2.25.2 we rekey the IKE SA
                return refuse(NotifyType.TEMPORARY_FAILURE, "peer rekeys " + old.get() + " while we replace it");
            }
            peerRekeyed = old.get();
        } else if (sa.ikeRekeying()) {
            return refuse(NotifyType.TEMPORARY_FAILURE, "peer creates a CHILD_SA while we rekey the IKE SA");
        }
        Optional<SaPayload> saPayload = m.first(SaPayload.class);
        Optional<NoncePayload> nonce = m.first(NoncePayload.class);
        List<TsPayload> ts = m.payloads(TsPayload.class);
        if (saPayload.isEmpty() || nonce.isEmpty() || ts.size() != 2) {
            return refuse(NotifyType.INVALID_SYNTAX, "CREATE_CHILD_SA request without SA, Ni, TSi and TSr");
        }
        peerNonce = nonce.get().nonce();
        List<ChildConnection> candidates = sa.connection().children();
        if (peerRekeyed != null) { // §2.8: a rekey keeps the configuration of the SA it replaces
            Optional<ChildConnection> same = sa.connection().child(peerRekeyed.name());
            if (same.isPresent()) {
                candidates = List.of(same.get());
            }
        }
        boolean transport = m.notify(NotifyType.USE_TRANSPORT_MODE).isPresent();
        switch (ChildNegotiation.choose(candidates, saPayload.get(), ts, transport, false)) {
            case ChildNegotiation.Choice.Refused r -> {
                sa.env().events().failed(sa, r.reason());
                error = r.error();
                return Status.DONE;
            }
            case ChildNegotiation.Choice.Chosen c -> agreed = c.agreed();
        }
        KeyExchangeTransform wanted = groupOf(agreed.proposal());
        Optional<KePayload> kePayload = m.first(KePayload.class);
        if (wanted != KeyExchangeTransform.NONE) {
            if (kePayload.isEmpty() || kePayload.get().group() != wanted.id()) {
                // §1.3: a responder that selects another group asks for it
                return refuse(NotifyType.INVALID_KE_PAYLOAD, ByteBuffer.allocate(2).putShort((short) wanted.id()).array(),
                        "initiator sent KE " + kePayload.map(KePayload::group).orElse(0) + ", we want " + wanted);
            }
            peerKe = kePayload.get().data();
        }
        child = agreed.child();
        group = wanted;
        return Status.DONE;
    }

    private Status refuse(NotifyType type, String reason) {
        return refuse(type, new byte[0], reason);
    }

    private Status refuse(NotifyType type, byte[] data, String reason) {
        LOG.debug("{}: answering CREATE_CHILD_SA with {}: {}", sa, type, reason);
        error = type;
        errorData = data;
        return Status.DONE;
    }

    private Status buildResponse(OutboundMessage m) {
        if (error != null) {
            m.onlyError(error, errorData);
            return Status.DONE;
        }
        if (group != KeyExchangeTransform.NONE) {
            ke = KeyExchange.create(group, sa.env().random());
        }
        ownNonce = nonce(sa);
        ChildSa made = derive(peerNonce, ownNonce, agreed.tsr(), agreed.tsi());
        if (made == null) {
            m.onlyError(NotifyType.INVALID_SYNTAX, new byte[0]); // RFC 6989 §2: a bad public value
            sa.env().events().failed(sa, "peer's key exchange value rejected in CREATE_CHILD_SA");
            return Status.DONE;
        }
        inboundSpi = made.inboundSpi();
        if (agreed.mode() == IpsecMode.TRANSPORT) {
            m.notify(NotifyType.USE_TRANSPORT_MODE);
        }
        m.add(SaPayload.fromProposals(List.of(ProposalWithSpi.withChildSpi(agreed.proposal(), inboundSpi))));
        m.add(new NoncePayload(ownNonce));
        if (ke != null) {
            m.add(new KePayload(group.id(), ke.publicValue()));
        }
        m.add(TsPayload.of(true, agreed.tsi()));
        m.add(TsPayload.of(false, agreed.tsr()));
        closeKe();
        created = made;
        sa.childSas().add(made, this::answeredWithInstall);
        if (peerRekeyed != null) {
            sa.childSas().markReplaced(peerRekeyed.inboundSpi(), made.inboundSpi()); // the initiator deletes it (§2.8)
            sa.env().events().childRekeyed(sa, peerRekeyed, made);
            ChildRekeyTask ours = ChildRekeyTask.inFlight(sa, peerRekeyed.inboundSpi());
            if (ours != null) {
                ours.collidedWith(this); // §2.8.1: settled by the nonces once our own response is in
            }
        }
        return Status.DONE;
    }

    /**
     * The responder's CHILD SA is installed, or not: then the peer must not get it. The response
     * still waits, so it becomes TEMPORARY_FAILURE (RFC 7296 §2.25: the initiator tries again
     * later, and a rekey keeps the SA it would have replaced), and the pair is forgotten here.
     */
    private void answeredWithInstall(boolean installed) {
        if (installed || created == null || !sa.isAlive()) {
            return;
        }
        ChildSa made = created;
        created = null; // not made after all: a colliding rekey of ours goes on as if the peer's never came (§2.8.1)
        LOG.warn("{}: CHILD_SA {} could not be installed; answering TEMPORARY_FAILURE", sa, made);
        sa.childSas().remove(made); // which takes back the replaced mark of the SA it was to replace
        sa.env().events().failed(sa, "CHILD_SA " + made.name() + " could not be installed; answered TEMPORARY_FAILURE");
        sa.tasks().replaceHeldResponse(NotifyType.TEMPORARY_FAILURE);
    }

    // ---- both ----

    /** Keys and the CHILD SA record; null when the peer's KE value is unusable. */
    private ChildSa derive(byte[] ni, byte[] nr, List<TrafficSelector> local, List<TrafficSelector> remote) {
        byte[] gir = null;
        try {
            if (group != KeyExchangeTransform.NONE) {
                try {
                    gir = ke.sharedSecret(peerKe);
                } catch (InvalidKeyExchangeException e) {
                    LOG.debug("{}: bad KE value: {}", sa, e.getMessage());
                    return null;
                }
            }
            if (inboundSpi == 0) {
                inboundSpi = sa.env().spis().allocate();
            }
            ChildSaKeys keys = KeyDerivation.childSa(sa.suite().prf(), sa.keys().skD(),
                    IkeSuite.from(agreed.proposal()), gir, ni, nr);
            return new ChildSa(child.name(), initiator, inboundSpi, agreed.peerSpi(), agreed.proposal(), agreed.mode(),
                    local, remote, sa.endpoints().natDetected(), keys);
        } finally {
            if (gir != null) {
                Arrays.fill(gir, (byte) 0);
            }
            if (initiator) {
                closeKe();
            }
        }
    }

    private void closeKe() {
        if (ke != null) {
            ke.close();
            ke = null;
        }
    }

    private static KeyExchangeTransform groupOf(Proposal p) {
        return p.keyExchangeMethods().isEmpty() ? KeyExchangeTransform.NONE : p.keyExchangeMethods().getFirst();
    }

    private static byte[] spi4(int spi) {
        return ByteBuffer.allocate(4).putInt(spi).array();
    }

    /** A fresh nonce of IKE_SA_INIT's length (RFC 7296 §2.10: at least 128 bits, half the PRF key). */
    static byte[] nonce(IkeSa sa) {
        byte[] n = new byte[IkeInitTask.NONCE_LENGTH];
        sa.env().random().nextBytes(n);
        return n;
    }

    static byte[] lower(byte[] a, byte[] b) {
        if (a == null || b == null) {
            return a == null ? b : a;
        }
        int n = Math.min(a.length, b.length);
        return Arrays.compareUnsigned(a, 0, n, b, 0, n) <= 0 ? a : b;
    }
}
