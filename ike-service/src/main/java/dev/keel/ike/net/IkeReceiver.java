package dev.keel.ike.net;

import java.net.InetSocketAddress;

/** Where received IKE messages go: the engine's dispatcher. */
@FunctionalInterface
public interface IkeReceiver {

    /**
     * One IKE message, {@code buf[off, off+len)}, without the non-ESP marker, received on the
     * local port {@code localPort} (the bound port number) from {@code peer}. May be called on any thread; the receiver copies
     * what it keeps.
     */
    void onMessage(int localPort, InetSocketAddress peer, byte[] buf, int off, int len);
}
