package dev.keel.ike.message;

import java.util.Arrays;

/** Bounds-checked big-endian reader over {@code buf[pos, end)}; every read checks what is left first. */
final class WireReader {
    private final byte[] buf;
    private int pos;
    private final int end;

    WireReader(byte[] buf, int offset, int length) {
        this.buf = buf;
        this.pos = offset;
        this.end = offset + length;
    }

    WireReader(byte[] buf) {
        this(buf, 0, buf.length);
    }

    int remaining() {
        return end - pos;
    }

    int position() {
        return pos;
    }

    boolean hasRemaining() {
        return pos < end;
    }

    private void need(int n, String what) throws PayloadException {
        if (n < 0 || n > end - pos) {
            throw new PayloadException(what + " needs " + n + " bytes, " + (end - pos) + " left");
        }
    }

    int u8(String what) throws PayloadException {
        need(1, what);
        return buf[pos++] & 0xFF;
    }

    int u16(String what) throws PayloadException {
        need(2, what);
        int v = (buf[pos] & 0xFF) << 8 | buf[pos + 1] & 0xFF;
        pos += 2;
        return v;
    }

    long u32(String what) throws PayloadException {
        need(4, what);
        long v = (long) u16(what) << 16;
        return v | u16(what);
    }

    long u64(String what) throws PayloadException {
        need(8, what);
        return u32(what) << 32 | u32(what);
    }

    byte[] bytes(int n, String what) throws PayloadException {
        need(n, what);
        byte[] out = Arrays.copyOfRange(buf, pos, pos + n);
        pos += n;
        return out;
    }

    byte[] rest() {
        byte[] out = Arrays.copyOfRange(buf, pos, end);
        pos = end;
        return out;
    }

    /** A reader over the next {@code n} bytes, which this reader skips: a nested structure of declared length. */
    WireReader sub(int n, String what) throws PayloadException {
        need(n, what);
        WireReader r = new WireReader(buf, pos, n);
        pos += n;
        return r;
    }

    void expectEnd(String what) throws PayloadException {
        if (pos != end) {
            throw new PayloadException(what + " has " + (end - pos) + " trailing bytes");
        }
    }
}
