package dev.keel.ike.task;

import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.MessageIdSync;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.ike.session.Task;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RFC 6311's message ID synchronization, by the node that took an IKE SA over while a request of
 * the previous owner may have been in flight: an INFORMATIONAL with message ID 0 carrying
 * IKEV2_MESSAGE_ID_SYNC with a fresh nonce, M1 (our next request's ID, one above the one that was
 * in flight, so above every ID the peer can have seen from us: §5.1 makes it drop anything lower)
 * and P1 (the ID we expect next from it). The answer that echoes the nonce gives M2 and P2, where
 * our IDs continue. Runs before every other exchange of ours ({@code TaskManager#queueMessageIdSync}).
 */
public final class MessageIdSyncTask implements Task {

    private static final Logger LOG = LoggerFactory.getLogger(MessageIdSyncTask.class);

    private final IkeSa sa;
    private MessageIdSync sent;

    /** The sync of {@code sa}, whose recorded next request ID may have been used already. */
    public MessageIdSyncTask(IkeSa sa) {
        this.sa = sa;
    }

    @Override
    public Status build(OutboundMessage m) {
        if (sent == null) { // a retransmission repeats the bytes; a rebuilt request would keep the nonce too
            byte[] nonce = new byte[4];
            sa.env().random().nextBytes(nonce);
            sent = new MessageIdSync(nonce, sa.tasks().nextRequestId() + 1, sa.tasks().expectedRequestId());
        }
        m.add(sent.toNotify());
        return Status.DONE;
    }

    /** Only a response echoing our nonce answers this sync; another is an old one, dropped. */
    @Override
    public boolean expects(IkeMessage response) {
        Optional<MessageIdSync> answer = answer(response);
        return answer.isEmpty() || answer.get().sameNonce(sent);
    }

    @Override
    public Status process(IkeMessage m) {
        Optional<MessageIdSync> answer = answer(m);
        if (answer.isPresent()) {
            // the peer's P2 (its next request) is what we expect; its M2 (what it expects) is our next ID
            long next = Math.max(answer.get().nextExpectedId(), sent.nextSendId());
            long expected = Math.max(answer.get().nextSendId(), sent.nextExpectedId());
            sa.tasks().messageIdsSynchronized(next, expected);
            LOG.info("{}: message IDs synchronized (RFC 6311): ours continue at {}, the peer's at {}", sa, next, expected);
        } else {
            // no usable answer (an error notify, or none): assume the peer processed the request in flight
            sa.tasks().messageIdsSynchronized(sent.nextSendId(), sent.nextExpectedId());
            LOG.warn("{}: peer answered the message ID sync without {}{}; continuing at {}", sa,
                    NotifyType.IKEV2_MESSAGE_ID_SYNC, errorOf(m), sent.nextSendId());
        }
        return Status.DONE;
    }

    private static Optional<MessageIdSync> answer(IkeMessage m) {
        return m.notify(NotifyType.IKEV2_MESSAGE_ID_SYNC).flatMap(n -> MessageIdSync.decode(n.data()));
    }

    private static String errorOf(IkeMessage m) {
        return m.payloads(NotifyPayload.class).stream().filter(NotifyPayload::isError).findFirst()
                .map(n -> " (" + (n.notifyType() == null ? "error " + n.notifyTypeValue() : n.notifyType()) + ")")
                .orElse("");
    }
}
