package dev.keel.sad.keys;

/**
 * A stored SA record failed its integrity check ({@link RecordMac#verify}). The message names the
 * record and why; it never contains record bytes.
 */
public final class TamperedRecordException extends RuntimeException {

    public TamperedRecordException(String message) {
        super(message, null, false, false);
    }
}
