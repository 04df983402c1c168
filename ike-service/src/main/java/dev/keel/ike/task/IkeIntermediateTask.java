package dev.keel.ike.task;

import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.ike.crypto.IkeSaKeys;
import dev.keel.ike.crypto.InvalidKeyExchangeException;
import dev.keel.ike.crypto.KeyDerivation;
import dev.keel.ike.crypto.KeyExchange;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.KePayload;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.ike.session.Task;
import java.util.Arrays;
import java.util.Optional;

/**
 * The additional key exchanges of RFC 9370 §2.2.1, one IKE_INTERMEDIATE exchange (RFC 9242) each,
 * between IKE_SA_INIT and IKE_AUTH: KEi(n) and KEr(n) of the ADDKE transforms IKE_SA_INIT chose,
 * in order, then the IKE SA's keys from SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr) (§2.2.2).
 * Every message is folded into IntAuth with the SK_p in force when it was sent (RFC 9242 §3.3.2),
 * which {@link IkeAuthTask}'s AUTH payloads then cover. The initiator's task runs once per round
 * (NEED_MORE until the last); the responder's answers one request.
 */
public final class IkeIntermediateTask implements Task {

    private final IkeSa sa;
    private final boolean initiator;
    private KeyExchangeTransform method;
    private KeyExchange ke;
    private KeyExchange.Response response;
    private long requestId;
    private NotifyType error;

    private IkeIntermediateTask(IkeSa sa, boolean initiator) {
        this.sa = sa;
        this.initiator = initiator;
    }

    /** The initiator's task: runs every additional key exchange {@code sa} negotiated, one exchange each. */
    public static IkeIntermediateTask initiator(IkeSa sa) {
        return new IkeIntermediateTask(sa, true);
    }

    /** The responder's task for one IKE_INTERMEDIATE request. */
    public static IkeIntermediateTask responder(IkeSa sa) {
        return new IkeIntermediateTask(sa, false);
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
        method = sa.nextAdditionalKeyExchange();
        if (method == null) {
            return fail("IKE_INTERMEDIATE without an additional key exchange left");
        }
        ke = KeyExchange.create(method, sa.env().random());
        m.add(new KePayload(method.id(), ke.publicValue()));
        sa.intermediateMessage(true, IkeMessage.intermediateAuthData(header(false, sa.tasks().nextRequestId()),
                m.payloads()));
        return Status.DONE;
    }

    private Status processResponse(IkeMessage m) {
        try {
            Optional<NotifyPayload> errorNotify = m.payloads(NotifyPayload.class).stream()
                    .filter(NotifyPayload::isError).findFirst();
            if (errorNotify.isPresent()) {
                return fail("peer answered IKE_INTERMEDIATE with " + errorNotify.get().notifyType());
            }
            Optional<KePayload> kr = m.first(KePayload.class);
            if (kr.isEmpty() || kr.get().group() != method.id()) {
                return fail("IKE_INTERMEDIATE response without KEr of " + method.ianaName());
            }
            sa.intermediateMessage(false, authData(m));
            byte[] secret;
            try {
                secret = ke.sharedSecret(kr.get().data());
            } catch (InvalidKeyExchangeException e) {
                return fail("peer's additional key exchange value rejected: " + e.getMessage());
            }
            updateKeys(secret);
            return sa.nextAdditionalKeyExchange() != null ? Status.NEED_MORE : Status.DONE;
        } finally {
            ke.close();
            ke = null;
        }
    }

    // ---- responder ----

    private Status processRequest(IkeMessage m) {
        requestId = m.header().messageId();
        method = sa.nextAdditionalKeyExchange();
        if (method == null) { // RFC 9242 §3: only as many IKE_INTERMEDIATE exchanges as were negotiated here
            return refuse(NotifyType.INVALID_SYNTAX, "IKE_INTERMEDIATE request after the last additional key exchange");
        }
        sa.intermediateMessage(true, authData(m));
        Optional<KePayload> ki = m.first(KePayload.class);
        if (ki.isEmpty() || ki.get().group() != method.id()) {
            // RFC 9370 §2.2.2: the KE payload must carry the method negotiated for this round
            return refuse(NotifyType.INVALID_SYNTAX, "IKE_INTERMEDIATE request without KEi of " + method.ianaName()
                    + (ki.isEmpty() ? "" : " (method " + ki.get().group() + ")"));
        }
        try {
            response = KeyExchange.respond(method, ki.get().data(), sa.env().random());
        } catch (InvalidKeyExchangeException e) {
            return refuse(NotifyType.INVALID_SYNTAX, "initiator's additional key exchange value rejected: " + e.getMessage());
        }
        return Status.DONE;
    }

    private Status buildResponse(OutboundMessage m) {
        if (error != null) {
            m.onlyError(error, new byte[0]);
            return Status.FAILED;
        }
        m.add(new KePayload(method.id(), response.publicValue()));
        sa.intermediateMessage(false, IkeMessage.intermediateAuthData(header(true, requestId), m.payloads()));
        // our response goes out under the keys in force; the new ones protect what follows it
        KeyExchange.Response r = response;
        response = null;
        sa.tasks().afterResponse(() -> {
            try (r) {
                if (sa.isAlive()) {
                    updateKeys(r.sharedSecret());
                }
            }
        });
        return Status.DONE;
    }

    // ---- both ----

    private void updateKeys(byte[] secret) {
        byte[] skD = sa.keys().skD();
        try {
            IkeSaKeys next = KeyDerivation.additionalKeyExchange(sa.suite(), skD, secret, sa.ni(), sa.nr(),
                    IkeInitTask.spiBytes(sa.spiI()), IkeInitTask.spiBytes(sa.spiR()));
            sa.updateKeys(next);
            sa.additionalKeyExchangeDone();
        } finally {
            Arrays.fill(skD, (byte) 0);
            Arrays.fill(secret, (byte) 0);
        }
    }

    private IkeHeader header(boolean response, long messageId) {
        return IkeHeader.of(sa.spiI(), sa.spiR(), ExchangeType.IKE_INTERMEDIATE, sa.originalInitiator(), response,
                messageId);
    }

    private static byte[] authData(IkeMessage m) {
        byte[] plaintext = m.intermediatePlaintext();
        int first = m.payloads().isEmpty() ? 0 : m.payloads().getFirst().type();
        return IkeMessage.intermediateAuthData(m.header(), first, plaintext == null ? new byte[0] : plaintext);
    }

    private Status refuse(NotifyType type, String reason) {
        error = type;
        sa.noteFailure(reason);
        return Status.FAILED;
    }

    private Status fail(String reason) {
        sa.noteFailure(reason);
        return Status.FAILED;
    }
}
