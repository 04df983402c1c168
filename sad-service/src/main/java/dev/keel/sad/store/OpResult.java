package dev.keel.sad.store;

import dev.keel.sad.SadException;

/**
 * What a record processor answers: success with the record bytes and up to three numbers, or a
 * refusal (kind + message) that the caller turns into a {@link SadException}. Refusals travel
 * as values, not exceptions, so they cross members without stack traces
 * ({@link SadSerialization.OpResultSerializer}).
 */
public record OpResult(SadException.Kind refusal, String message, byte[] record, long a, long b, long c) {

    public static OpResult ok(byte[] record) {
        return new OpResult(null, null, record, 0, 0, 0);
    }

    public static OpResult ok(byte[] record, long a, long b) {
        return new OpResult(null, null, record, a, b, 0);
    }

    public static OpResult ok(byte[] record, long a, long b, long c) {
        return new OpResult(null, null, record, a, b, c);
    }

    public static OpResult refuse(SadException.Kind kind, String message) {
        return new OpResult(kind, message, null, 0, 0, 0);
    }

    /** The record bytes, or throws the refusal. */
    public byte[] orThrow() {
        if (refusal != null) {
            throw new SadException(refusal, message);
        }
        return record;
    }
}
