package dev.keel.ike.message;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;

/**
 * The data of an IKEV2_MESSAGE_ID_SYNC notify (RFC 6311, notify type 16422): a 4-byte nonce
 * the responder echoes, the message ID of the sender's next request and the message ID it expects
 * on the other side's next request. A request carries the cluster's M1 / P1, the response the
 * peer's P2 / M2 (§5.1), each from the sender's point of view.
 *
 * @param nonce          4 random bytes of the requester, echoed in the response
 * @param nextSendId     EXPECTED_SEND_REQ_MESSAGE_ID: the sender's next request's message ID
 * @param nextExpectedId EXPECTED_RECV_REQ_MESSAGE_ID: the message ID the sender expects next from the other side
 */
public record MessageIdSync(byte[] nonce, long nextSendId, long nextExpectedId) {

    /** Data length on the wire. */
    public static final int LENGTH = 12;

    /** Checks the nonce length and that both IDs are unsigned 32-bit values. */
    public MessageIdSync {
        if (nonce.length != 4) {
            throw new IllegalArgumentException("nonce must be 4 bytes, got " + nonce.length);
        }
        if (nextSendId < 0 || nextSendId > 0xffff_ffffL || nextExpectedId < 0 || nextExpectedId > 0xffff_ffffL) {
            throw new IllegalArgumentException("message IDs are 32-bit: " + nextSendId + ", " + nextExpectedId);
        }
        nonce = nonce.clone();
    }

    /** The notify's data: nonce, then the two IDs in network order. */
    public byte[] encode() {
        return ByteBuffer.allocate(LENGTH).put(nonce).putInt((int) nextSendId).putInt((int) nextExpectedId).array();
    }

    /** The notify payload carrying this data (protocol 0, no SPI). */
    public NotifyPayload toNotify() {
        return NotifyPayload.of(NotifyType.IKEV2_MESSAGE_ID_SYNC, encode());
    }

    /** The sync data in a notify's {@code data}, or empty when it is not exactly 12 bytes. */
    public static Optional<MessageIdSync> decode(byte[] data) {
        if (data.length != LENGTH) {
            return Optional.empty();
        }
        ByteBuffer b = ByteBuffer.wrap(data);
        byte[] nonce = new byte[4];
        b.get(nonce);
        return Optional.of(new MessageIdSync(nonce, b.getInt() & 0xffff_ffffL, b.getInt() & 0xffff_ffffL));
    }

    /** True when {@code other} carries the same nonce (a response to this request). */
    public boolean sameNonce(MessageIdSync other) {
        return Arrays.equals(nonce, other.nonce);
    }

    /** Never shows the nonce. */
    @Override
    public String toString() {
        return "MessageIdSync[send " + nextSendId + ", expect " + nextExpectedId + "]";
    }
}
