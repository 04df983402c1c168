package dev.keel.esp.net;

import java.net.InetSocketAddress;

/**
 * Where IKE messages received on UDP 4500 go (RFC 3948 §2.2: the datagram starts with the
 * four-byte non-ESP marker). The IKE service plugs in here; until then {@link #DISCARD}.
 */
@FunctionalInterface
public interface IkeHandoff {

    /** Drops every message (counted by the caller). */
    IkeHandoff DISCARD = (buf, off, len, peer) -> { };

    /**
     * One IKE message, {@code buf[off, off+len)}, the bytes after the non-ESP marker, from
     * {@code peer}. Called on an event loop: must not block, and must copy the bytes it keeps
     * (the buffer is reused for the next packet).
     */
    void onIkeMessage(byte[] buf, int off, int len, InetSocketAddress peer);
}
