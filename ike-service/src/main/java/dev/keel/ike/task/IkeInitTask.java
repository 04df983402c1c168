package dev.keel.ike.task;

import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSelector;
import dev.keel.core.transform.KeyExchangeTransform;
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
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * IKE_SA_INIT's core (RFC 7296 §1.2): the SA proposal, the key exchange and the nonces, then
 * SKEYSEED and the seven keys (§2.14). The initiator retries with the group a responder asks
 * for in INVALID_KE_PAYLOAD (§1.2) and with the cookie it demands (§2.6). SIGNATURE_HASH_
 * ALGORITHMS (RFC 7427 §4) is announced by both sides.
 */
public final class IkeInitTask implements Task {

    /** Our nonce length: at least half the PRF key size and at least 128 bits (§2.10). */
    static final int NONCE_LENGTH = 32;

    /** SHA2-256, SHA2-384, SHA2-512 and Identity (RFC 7427 §4, RFC 8420). */
    private static final byte[] SIGNATURE_HASHES = {0, 2, 0, 3, 0, 4, 0, 5};

    private final IkeSa sa;
    private final boolean initiator;
    private KeyExchangeTransform group;
    private KeyExchange ke;
    private byte[] ownNonce;
    private byte[] cookie;
    private Proposal selected;
    private byte[] peerKe;
    private byte[] peerNonce;
    private NotifyType error;
    private byte[] errorData = new byte[0];
    private int groupRetries;
    /** The initiator announced IKE_INTERMEDIATE (RFC 9242 §3). */
    private boolean peerIntermediate;

    private IkeInitTask(IkeSa sa, boolean initiator) {
        this.sa = sa;
        this.initiator = initiator;
    }

    /** The initiator's task for {@code sa}, whose connection is set. */
    public static IkeInitTask initiator(IkeSa sa) {
        return new IkeInitTask(sa, true);
    }

    /** The responder's task for {@code sa}, whose candidate connections are set. */
    public static IkeInitTask responder(IkeSa sa) {
        return new IkeInitTask(sa, false);
    }

    @Override
    public Status build(OutboundMessage message) {
        return initiator ? buildRequest(message) : buildResponse(message);
    }

    @Override
    public Status process(IkeMessage message) {
        return initiator ? processResponse(message) : processRequest(message);
    }

    // ---- initiator ----

    private Status buildRequest(OutboundMessage m) {
        List<Proposal> proposals = sa.connection().proposals();
        if (group == null) {
            group = proposals.getFirst().keyExchangeMethods().getFirst();
        }
        if (ke == null) {
            ke = KeyExchange.create(group, sa.env().random());
        }
        if (ownNonce == null) {
            ownNonce = nonce();
        }
        if (cookie != null) {
            m.add(NotifyPayload.of(NotifyType.COOKIE, cookie)); // must come first (§2.6)
        }
        // on the wire with the implied transforms (the PRF from the integrity algorithm), as strongSwan sends them
        m.add(SaPayload.fromProposals(proposals.stream().map(p -> ProposalWithSpi.withoutSpi(p.effective())).toList()));
        m.add(new KePayload(group.id(), ke.publicValue()));
        m.add(new NoncePayload(ownNonce));
        m.notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, SIGNATURE_HASHES);
        if (proposals.stream().anyMatch(Proposal::hasAdditionalKeyExchanges)) { // RFC 9370 §2.2.1
            m.notify(NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED);
        }
        if (sa.connection().fragmentation().announced()) { // RFC 7383 §2.3
            m.notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED);
            sa.fragmentation().noteAnnounced();
        }
        return Status.DONE;
    }

    private Status processResponse(IkeMessage m) {
        Optional<NotifyPayload> cookieNotify = m.notify(NotifyType.COOKIE);
        if (cookieNotify.isPresent()) {
            cookie = cookieNotify.get().data();
            sa.spiR(0);
            return cookie.length >= 1 && cookie.length <= 64 ? Status.NEED_MORE : fail("bad COOKIE length");
        }
        Optional<NotifyPayload> invalidKe = m.notify(NotifyType.INVALID_KE_PAYLOAD);
        if (invalidKe.isPresent()) {
            return retryWithGroup(invalidKe.get().data());
        }
        Optional<NotifyPayload> errorNotify = m.payloads(NotifyPayload.class).stream().filter(NotifyPayload::isError).findFirst();
        if (errorNotify.isPresent()) {
            return fail("peer answered IKE_SA_INIT with " + errorNotify.get().notifyType());
        }
        Optional<SaPayload> saPayload = m.first(SaPayload.class);
        Optional<KePayload> kePayload = m.first(KePayload.class);
        Optional<NoncePayload> nonce = m.first(NoncePayload.class);
        if (saPayload.isEmpty() || kePayload.isEmpty() || nonce.isEmpty()) {
            return fail("IKE_SA_INIT response without SA, KE or Nr");
        }
        List<Proposal> chosen = saPayload.get().toProposals().stream().map(ProposalWithSpi::proposal).toList();
        if (chosen.size() != 1) {
            return fail("IKE_SA_INIT response with " + chosen.size() + " proposals; exactly one expected");
        }
        // the responder must pick one of ours with one transform each (§2.7): selecting it again proves that
        Optional<Proposal> accepted = ProposalSelector.select(sa.connection().proposals(), chosen);
        if (accepted.isEmpty() || !accepted.get().keyExchangeMethods().equals(List.of(group))
                || kePayload.get().group() != group.id()) {
            return fail("responder chose a proposal or group we did not offer: " + chosen.getFirst());
        }
        selected = accepted.get();
        sa.spiR(m.header().responderSpi());
        sa.recordInit(m.bytes(), true);
        readSignatureHashes(m);
        readFragmentationSupport(m);
        byte[] gir;
        try {
            gir = ke.sharedSecret(kePayload.get().data());
        } catch (InvalidKeyExchangeException e) {
            return fail("peer's key exchange value rejected: " + e.getMessage());
        } finally {
            ke.close();
        }
        Status derived = derive(gir, ownNonce, nonce.get().nonce());
        if (derived == Status.DONE && !sa.additionalKeyExchanges().isEmpty()) {
            // RFC 9370 §2.2.1: one IKE_INTERMEDIATE per additional key exchange, before IKE_AUTH
            sa.tasks().queueFirst(ExchangeType.IKE_INTERMEDIATE, IkeIntermediateTask.initiator(sa));
        }
        return derived;
    }

    private Status retryWithGroup(byte[] data) {
        if (data.length != 2 || ++groupRetries > 2) {
            return fail("INVALID_KE_PAYLOAD without a usable group");
        }
        int id = ((data[0] & 0xff) << 8) | (data[1] & 0xff);
        KeyExchangeTransform wanted = KeyExchangeTransform.byId(id);
        boolean offered = wanted != null && sa.connection().proposals().stream()
                .anyMatch(p -> p.keyExchangeMethods().contains(wanted));
        if (!offered || wanted == group) {
            return fail("responder wants key exchange group " + id + ", which we did not offer");
        }
        group = wanted;
        ke.close();
        ke = null;
        sa.spiR(0);
        return Status.NEED_MORE;
    }

    // ---- responder ----

    private Status processRequest(IkeMessage m) {
        sa.recordInit(m.bytes(), false);
        Optional<SaPayload> saPayload = m.first(SaPayload.class);
        Optional<KePayload> kePayload = m.first(KePayload.class);
        Optional<NoncePayload> nonce = m.first(NoncePayload.class);
        if (saPayload.isEmpty() || kePayload.isEmpty() || nonce.isEmpty()) {
            return error(NotifyType.INVALID_SYNTAX, new byte[0], "IKE_SA_INIT request without SA, KE or Ni");
        }
        if (sa.candidates().isEmpty()) {
            return error(NotifyType.NO_PROPOSAL_CHOSEN, new byte[0], "no connection for this peer's address");
        }
        List<Proposal> offered = saPayload.get().toProposals().stream().map(ProposalWithSpi::proposal).toList();
        peerIntermediate = m.notify(NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED).isPresent();
        if (!peerIntermediate) { // RFC 9370 §2.2.1: no additional key exchange without IKE_INTERMEDIATE
            offered = offered.stream().map(Proposal::withoutAdditionalKeyExchanges).toList();
        }
        for (var candidate : sa.candidates()) {
            Optional<Proposal> match = ProposalSelector.select(candidate.proposals(), offered);
            if (match.isPresent()) {
                selected = match.get();
                sa.connection(candidate);
                break;
            }
        }
        if (selected == null) {
            return error(NotifyType.NO_PROPOSAL_CHOSEN, new byte[0], "no acceptable IKE proposal in " + offered);
        }
        group = selected.keyExchangeMethods().getFirst();
        if (kePayload.get().group() != group.id()) {
            byte[] wanted = ByteBuffer.allocate(2).putShort((short) group.id()).array();
            return error(NotifyType.INVALID_KE_PAYLOAD, wanted, "initiator guessed group " + kePayload.get().group());
        }
        peerKe = kePayload.get().data();
        peerNonce = nonce.get().nonce();
        readSignatureHashes(m);
        readFragmentationSupport(m);
        return Status.DONE;
    }

    private Status buildResponse(OutboundMessage m) {
        if (error != null) {
            m.onlyError(error, errorData);
            return Status.FAILED;
        }
        KeyExchange.Response ker;
        try {
            ker = KeyExchange.respond(group, peerKe, sa.env().random()); // a KEM answers the initiator's key
        } catch (InvalidKeyExchangeException e) {
            fail("peer's key exchange value rejected: " + e.getMessage());
            m.onlyError(NotifyType.INVALID_SYNTAX, new byte[0]); // RFC 6989 §2: a bad public value
            return Status.FAILED;
        }
        ownNonce = nonce();
        m.add(SaPayload.fromProposals(List.of(ProposalWithSpi.withoutSpi(selected))));
        m.add(new KePayload(group.id(), ker.publicValue()));
        m.add(new NoncePayload(ownNonce));
        // the responder asks for certificates in IKE_SA_INIT (RFC 7296 §1.2), so the initiator sends its chain
        if (sa.connection().auth() instanceof dev.keel.ike.config.IkeConnection.Auth.PubKey pk) {
            m.add(IkeAuthTask.certificateRequest(pk));
        }
        m.notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, SIGNATURE_HASHES);
        // RFC 7383 §2.3: the responder answers the initiator's announcement with its own
        if (sa.fragmentation().peerAnnounced() && sa.connection().fragmentation().announced()) {
            m.notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED);
            sa.fragmentation().noteAnnounced();
        }
        if (peerIntermediate) { // RFC 9242 §3
            m.notify(NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED);
        }
        return derive(ker.sharedSecret(), peerNonce, ownNonce);
    }

    // ---- both ----

    private void readSignatureHashes(IkeMessage m) {
        m.notify(NotifyType.SIGNATURE_HASH_ALGORITHMS).ifPresent(n -> {
            byte[] d = n.data();
            List<Integer> ids = new java.util.ArrayList<>();
            for (int i = 0; i + 1 < d.length; i += 2) {
                ids.add(((d[i] & 0xff) << 8) | (d[i + 1] & 0xff));
            }
            sa.peerSignatureHashes(ids);
        });
    }

    private void readFragmentationSupport(IkeMessage m) {
        if (m.notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED).isPresent()) {
            sa.fragmentation().notePeerAnnounced();
        }
    }

    /** SKEYSEED and the keys from the first key exchange (§2.14); zeroizes {@code gir}. */
    private Status derive(byte[] gir, byte[] ni, byte[] nr) {
        try {
            IkeSuite suite = IkeSuite.from(selected);
            sa.nonces(ni, nr);
            sa.keys(selected, suite, KeyDerivation.ikeSa(suite, ni, nr, gir, spiBytes(sa.spiI()), spiBytes(sa.spiR())));
            sa.additionalKeyExchanges(selected.chosenAdditionalKeyExchanges());
            return Status.DONE;
        } finally {
            java.util.Arrays.fill(gir, (byte) 0);
        }
    }

    private byte[] nonce() {
        byte[] n = new byte[NONCE_LENGTH];
        sa.env().random().nextBytes(n);
        return n;
    }

    private Status error(NotifyType type, byte[] data, String reason) {
        this.error = type;
        this.errorData = data;
        sa.noteFailure(reason);
        return Status.FAILED;
    }

    private Status fail(String reason) {
        sa.noteFailure(reason);
        return Status.FAILED;
    }

    static byte[] spiBytes(long spi) {
        return ByteBuffer.allocate(8).putLong(spi).array();
    }
}
