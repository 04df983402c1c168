package dev.keel.sad;

/**
 * A request the SA database refuses, with the reason class the gRPC layer maps to a status.
 *
 * <p>Messages name the field or the SA and say what is wrong; they never contain key bytes.
 */
public final class SadException extends RuntimeException {

    /** Why a request failed; one per gRPC status the service uses. */
    public enum Kind {
        INVALID_ARGUMENT,
        NOT_FOUND,
        ALREADY_EXISTS,
        FAILED_PRECONDITION,
        RESOURCE_EXHAUSTED,
        UNAVAILABLE,
        /** A stored record failed its integrity check (changed outside sad-service); it is not used. */
        DATA_LOSS
    }

    private final Kind kind;

    public SadException(Kind kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static SadException invalid(String field, String problem) {
        return new SadException(Kind.INVALID_ARGUMENT, field + ": " + problem);
    }

    public static SadException notFound(String what) {
        return new SadException(Kind.NOT_FOUND, what);
    }

    public static SadException precondition(String what) {
        return new SadException(Kind.FAILED_PRECONDITION, what);
    }
}
