package dev.keel.ike.message;

/**
 * The outcome of {@link IkeMessage#decode}: exactly one of four kinds, so that callers handle
 * each (AOSP's DecodeResult*). See package-info for which error becomes which kind.
 */
public sealed interface IkeDecodeResult {

    /** A well-formed message; for a protected one its ICV verified and it holds the inner payloads. */
    record Ok(IkeMessage message) implements IkeDecodeResult {}

    /**
     * An SKF fragment (RFC 7383) with a well-formed header, not yet verified nor reassembled.
     *
     * @param message    the whole datagram, which the fragment's ICV covers
     * @param bodyOffset where the sealed body (IV first) starts in {@code message}, after the
     *                   Fragment Number and Total Fragments fields: the offset for {@code SkCipher.open}
     */
    record Fragment(IkeHeader header, EncryptedFragmentPayload fragment, byte[] message, int bodyOffset)
            implements IkeDecodeResult {}

    /**
     * An error found after the SK payload's ICV verified: the peer really sent this, and the
     * engine answers a request with {@code notifyType} carrying {@code notifyData} (RFC 7296 §2.21.2).
     */
    record ProtectedError(IkeHeader header, NotifyType notifyType, byte[] notifyData, String detail)
            implements IkeDecodeResult {}

    /**
     * A message that cannot be trusted or not even be parsed: dropped and counted by
     * {@code reason}. {@code header} is null when fewer than 28 bytes arrived.
     * {@code suggestedNotify} is the notify a responder MAY send to an IKE_SA_INIT request
     * (RFC 7296 §2.21.1; §2.5 for INVALID_MAJOR_VERSION), null when the answer is silence.
     */
    record UnprotectedError(Reason reason, IkeHeader header, NotifyType suggestedNotify, byte[] notifyData,
            String detail) implements IkeDecodeResult {}

    /** Why a message was dropped. */
    enum Reason {
        /** Shorter than the IKE header, or than the header's length field says. */
        TRUNCATED,
        /** Header length disagrees with the datagram, or a payload length is impossible. */
        BAD_LENGTH,
        /** Major version below 2 (IKEv1 and older). */
        BAD_VERSION,
        /** Major version above 2: a responder answers INVALID_MAJOR_VERSION (§2.5). */
        UNSUPPORTED_MAJOR_VERSION,
        /** An exchange type Keel does not implement (RFC 7296 §3.1 defines 34–37): ignored, never dispatched. */
        UNKNOWN_EXCHANGE,
        /** A payload body outside the encrypted part does not follow its layout. */
        MALFORMED_PAYLOAD,
        /** An unknown payload with the critical bit outside the encrypted part (§2.5). */
        UNSUPPORTED_CRITICAL_PAYLOAD,
        /** SK or SKF that is not the last payload (§3.14), or SK inside SK. */
        BAD_PAYLOAD_ORDER,
        /** An exchange that must be encrypted (IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL) without SK, or payloads in clear before SK. */
        NOT_ENCRYPTED,
        /** An SK payload arrived but no cipher was given (no keys for this SA). */
        NO_CIPHER,
        /** The SK payload's ICV did not verify, or its body was malformed. */
        ICV_FAILED
    }
}
