package dev.keel.ike.message;

/** A payload body that does not follow its RFC 7296 §3 layout; the message says which field and why. */
public final class PayloadException extends Exception {
    private static final long serialVersionUID = 1L;

    /** An exception with a message naming the field and the problem (never secret data). */
    public PayloadException(String message) {
        super(message, null, false, false);
    }
}
