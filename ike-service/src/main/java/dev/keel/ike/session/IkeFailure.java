package dev.keel.ike.session;

/**
 * Why an IKE exchange failed, as {@link IkeCounters} counts it by exchange type; the log line of
 * the failure says more (the notify, the peer). An exchange that fails with an error notify is
 * counted however the IKE SA fares: an IKE_SA_INIT answered with INVALID_KE_PAYLOAD is a failed
 * exchange, the retry with the peer's group a new one (RFC 7296 §1.2).
 */
public enum IkeFailure {
    /** Our request went unanswered after every retransmission (RFC 7296 §2.1, §2.4). */
    TIMEOUT,
    /** The peer answered our request with an error notify (NO_PROPOSAL_CHOSEN, AUTHENTICATION_FAILED, ...). */
    PEER_ERROR,
    /** We answered the peer's request with an error notify: not acceptable (proposals, authentication, selectors) or malformed. */
    REFUSED,
    /** The peer's response failed our checks: its AUTH did not verify, it chose what we did not offer, a payload was missing. */
    BAD_RESPONSE,
    /** We could not build our own request. */
    INTERNAL
}
