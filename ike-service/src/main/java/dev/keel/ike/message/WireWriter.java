package dev.keel.ike.message;

import java.util.Arrays;

/** Growable big-endian writer with back-patching of length fields. */
final class WireWriter {
    private byte[] buf = new byte[256];
    private int size;

    private void ensure(int n) {
        if (size + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + n));
        }
    }

    int size() {
        return size;
    }

    WireWriter u8(int v) {
        ensure(1);
        buf[size++] = (byte) v;
        return this;
    }

    WireWriter u16(int v) {
        ensure(2);
        buf[size++] = (byte) (v >>> 8);
        buf[size++] = (byte) v;
        return this;
    }

    WireWriter u32(long v) {
        return u16((int) (v >>> 16) & 0xFFFF).u16((int) v & 0xFFFF);
    }

    WireWriter u64(long v) {
        return u32(v >>> 32).u32(v & 0xFFFFFFFFL);
    }

    WireWriter bytes(byte[] b) {
        ensure(b.length);
        System.arraycopy(b, 0, buf, size, b.length);
        size += b.length;
        return this;
    }

    /** Writes a 16-bit length at {@code at}, checking it fits: lengths on the IKE wire are 16 bits. */
    void patchU16(int at, int v) {
        if (v > 0xFFFF) {
            throw new IllegalArgumentException("length " + v + " does not fit in 16 bits");
        }
        buf[at] = (byte) (v >>> 8);
        buf[at + 1] = (byte) v;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, size);
    }
}
