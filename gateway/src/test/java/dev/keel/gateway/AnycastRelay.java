package dev.keel.gateway;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * "The network" in front of an HA pair on loopback: one address (the anycast address the peer
 * talks to) whose UDP ports are forwarded to whichever gateway node is current, as a NAT would:
 * each peer source gets a socket of the relay's own, so the node sees the same source address and
 * port before and after a failover, exactly as behind a real anycast route the peer's packets
 * reach another node unchanged. Replies go back out from the anycast address. Counts the
 * IKE_SA_INIT requests the peer sends (a failover must cause none).
 */
final class AnycastRelay implements AutoCloseable {

    private final InetAddress anycast;
    private final List<DatagramChannel> fronts = new ArrayList<>();
    private final Map<String, DatagramChannel> backs = new ConcurrentHashMap<>();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicInteger initRequests = new AtomicInteger();
    private volatile InetAddress node;
    private volatile boolean closed;

    /** Forwards {@code ports} of {@code anycast} to {@code node}'s same ports. */
    AnycastRelay(InetAddress anycast, InetAddress node, int... ports) throws IOException {
        this.anycast = anycast;
        this.node = node;
        for (int port : ports) {
            DatagramChannel front = DatagramChannel.open().bind(new InetSocketAddress(anycast, port));
            fronts.add(front);
            thread("relay-front-" + port, () -> pumpFront(front, port));
        }
    }

    /** From now on the network hands the anycast address's packets to {@code next} (BGP moved the route). */
    void routeTo(InetAddress next) {
        this.node = next;
    }

    /** IKE_SA_INIT requests from the peer so far. */
    int initRequests() {
        return initRequests.get();
    }

    private void thread(String name, Runnable body) {
        Thread t = Thread.ofPlatform().daemon().name(name).start(body);
        threads.add(t);
    }

    private void pumpFront(DatagramChannel front, int port) {
        ByteBuffer buf = ByteBuffer.allocate(65_536);
        while (!closed) {
            try {
                buf.clear();
                SocketAddress from = front.receive(buf);
                buf.flip();
                countInit(buf);
                DatagramChannel back = backs.computeIfAbsent(port + "/" + from, k -> open(front, from));
                back.send(buf, new InetSocketAddress(node, port));
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("relay: " + e);
                }
            }
        }
    }

    private DatagramChannel open(DatagramChannel front, SocketAddress peer) {
        try {
            DatagramChannel back = DatagramChannel.open().bind(new InetSocketAddress(anycast, 0));
            thread("relay-back-" + peer, () -> pumpBack(back, front, peer));
            return back;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void pumpBack(DatagramChannel back, DatagramChannel front, SocketAddress peer) {
        ByteBuffer buf = ByteBuffer.allocate(65_536);
        while (!closed) {
            try {
                buf.clear();
                back.receive(buf);
                buf.flip();
                front.send(buf, peer);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("relay: " + e);
                }
            }
        }
    }

    /** An IKE request with exchange type IKE_SA_INIT (34), on the IKE port or behind a non-ESP marker. */
    private void countInit(ByteBuffer b) {
        int at = b.remaining() >= 4 && b.getInt(0) == 0 ? 4 : 0;
        if (b.remaining() >= at + 28 && (b.get(at + 18) & 0xff) == 34 && (b.get(at + 19) & 0x20) == 0) {
            initRequests.incrementAndGet();
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        for (DatagramChannel c : fronts) {
            c.close();
        }
        for (DatagramChannel c : backs.values()) {
            c.close();
        }
        for (Thread t : threads) {
            t.interrupt();
        }
    }
}
