package dev.keel.core.packet;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Network byte order (big-endian) reads and writes of 16-, 32- and 64-bit fields in a byte array:
 * the one place every header codec and address parser gets them from.
 *
 * <p>Byte-array view var handles: the JIT makes each access one bounds check and one
 * (byte-swapped) load or store, and nothing allocates. An index out of range throws
 * {@link ArrayIndexOutOfBoundsException} before a byte is written.
 */
public final class BigEndian {

    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private BigEndian() {
    }

    /** The unsigned 16-bit value at {@code b[i, i+2)}. */
    public static int getU16(byte[] b, int i) {
        return (short) SHORT.get(b, i) & 0xffff;
    }

    /** Writes the low 16 bits of {@code v} at {@code b[i, i+2)}. */
    public static void putU16(byte[] b, int i, int v) {
        SHORT.set(b, i, (short) v);
    }

    /** The 32-bit value at {@code b[i, i+4)}. */
    public static int getInt(byte[] b, int i) {
        return (int) INT.get(b, i);
    }

    /** Writes {@code v} at {@code b[i, i+4)}. */
    public static void putInt(byte[] b, int i, int v) {
        INT.set(b, i, v);
    }

    /** The 64-bit value at {@code b[i, i+8)}. */
    public static long getLong(byte[] b, int i) {
        return (long) LONG.get(b, i);
    }

    /** Writes {@code v} at {@code b[i, i+8)}. */
    public static void putLong(byte[] b, int i, long v) {
        LONG.set(b, i, v);
    }
}
