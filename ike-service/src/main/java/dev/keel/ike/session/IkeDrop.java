package dev.keel.ike.session;

/**
 * Why a datagram that decoded (or could have) was still not processed by an IKE SA or the
 * engine: the drops after {@link dev.keel.ike.message.IkeDecodeResult.Reason}, counted in
 * {@link IkeCounters}.
 */
public enum IkeDrop {
    /** No IKE SA has the SPI the message names. */
    NO_SA,
    /** Sent in the clear to an IKE SA that no longer takes clear messages (RFC 7296 §2.1, §2.4). */
    UNPROTECTED,
    /** The I flag says it came from our own role, or the message goes the wrong way for the exchange in the clear. */
    WRONG_ROLE,
    /** A response whose message ID or exchange type matches no request we have outstanding (§2.3). */
    STALE_RESPONSE,
    /** An unauthenticated error notify answering our IKE_SA_INIT: noted, not acted on at once (§2.4). */
    UNAUTHENTICATED_ERROR,
    /** A retransmitted request whose response still waits for its CHILD SAs' install (DESIGN §4). */
    RESPONSE_PENDING,
    /** A request outside the window: neither the next message ID nor a retransmission (§2.3). */
    UNEXPECTED_MESSAGE_ID,
    /** An IKEV2_MESSAGE_ID_SYNC request whose notify data is not 12 bytes (RFC 6311). */
    BAD_MESSAGE_ID_SYNC,
    /** An IKEV2_MESSAGE_ID_SYNC request whose sender ID is below one we saw already: silently dropped (RFC 6311 §5.1). */
    STALE_MESSAGE_ID_SYNC,
    /** A fault while processing; the message is dropped and the IKE SA kept. */
    INTERNAL_ERROR,
    /** A new IKE_SA_INIT refused: the node has too many half-open IKE SAs ({@code init_limit_half_open}). */
    HALF_OPEN_LIMIT,
    /** A new IKE_SA_INIT refused: its source address has too many half-open IKE SAs ({@code block_threshold}). */
    HALF_OPEN_PEER_LIMIT,
    /** A new IKE_SA_INIT refused for its size: a half-open IKE SA keeps its request for AUTH (§2.15). */
    INIT_TOO_LARGE,
    /** A new IKE_SA_INIT that did not decode, or not with message ID 0 (§2.2). */
    BAD_INIT_REQUEST,
    /** A new IKE_SA_INIT without our valid cookie while cookies are demanded (§2.6); answered with one. */
    COOKIE_REQUIRED,
    /** An SKF fragment to an IKE SA that did not announce IKEV2_FRAGMENTATION_SUPPORTED, or has no keys yet (RFC 7383 §2.3). */
    FRAGMENT_UNSUPPORTED,
    /** An SKF fragment whose ICV did not verify: never stored (RFC 7383 §2.6). */
    FRAGMENT_ICV_FAILED,
    /** An SKF fragment of a message that is not awaited: an older or answered one, or one ahead of the window. */
    FRAGMENT_STALE,
    /** An SKF fragment whose number was already stored for its message. */
    FRAGMENT_DUPLICATE,
    /** An SKF fragment whose Total Fragments is below that of the fragments stored for its message (§2.6). */
    FRAGMENT_TOTAL_CHANGED,
    /** An SKF fragment beyond the reassembly bounds: too many fragments, or too many bytes for one message. */
    FRAGMENT_LIMIT,
    /** An incomplete set of fragments thrown away: timed out, or replaced by a later message or a larger Total Fragments. */
    FRAGMENTS_ABANDONED
}
