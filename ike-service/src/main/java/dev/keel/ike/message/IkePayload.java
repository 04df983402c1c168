package dev.keel.ike.message;

/**
 * One IKEv2 payload (RFC 7296 §3.2), without its generic payload header, which
 * {@link IkeMessage} writes and reads for all payloads alike. Every implementation has a static
 * {@code decode(byte[] body)} that validates the body and throws {@link PayloadException}.
 *
 * <p>Byte-array components are not copied and compare by identity; compare payloads by their
 * encoding.
 */
public sealed interface IkePayload permits SaPayload, KePayload, IdPayload, CertPayload, CertReqPayload,
        AuthPayload, NoncePayload, NotifyPayload, DeletePayload, VendorIdPayload, TsPayload,
        EncryptedPayload, EncryptedFragmentPayload, ConfigPayload, EapPayload, UnknownPayload {

    /** The payload type number (RFC 7296 §3.2). */
    int type();

    /** The body, i.e. everything after the generic payload header. */
    byte[] encodeBody();

    /** The critical bit to send: clear for every payload type RFC 7296 defines (§3.2). */
    default boolean critical() {
        return false;
    }
}
