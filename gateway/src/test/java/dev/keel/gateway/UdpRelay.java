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
 * IKE_SA_INIT requests the peer sends (a failover must cause none), and the requests of every
 * exchange type; can record which node sent the peer which ESP packet, and send the peer's latest
 * ESP packet again (a replay from the peer's source).
 */
final class AnycastRelay implements AutoCloseable {

    private final InetAddress anycast;
    private final List<DatagramChannel> fronts = new ArrayList<>();
    private final Map<String, DatagramChannel> backs = new ConcurrentHashMap<>();
    private final List<Thread> threads = new ArrayList<>();
    private final Map<Integer, AtomicInteger> requests = new ConcurrentHashMap<>();
    private final int ikePort;
    private final java.util.Queue<SentEsp> espSent = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private volatile int espPort = -1;
    private volatile InetAddress node;
    /** The peer's latest ESP packet on the recorded port, and the socket it left the relay through. */
    private volatile byte[] lastEspFromPeer;
    private volatile DatagramChannel lastEspBack;
    private volatile boolean closed;

    /** Forwards {@code ports} of {@code anycast} (the IKE port first) to {@code node}'s same ports. */
    AnycastRelay(InetAddress anycast, InetAddress node, int... ports) throws IOException {
        this.anycast = anycast;
        this.node = node;
        this.ikePort = ports[0];
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
        return requests(34);
    }

    /** IKE requests of {@code exchangeType} from the peer so far (RFC 7296 §3.1: 34 IKE_SA_INIT, 36 CREATE_CHILD_SA). */
    int requests(int exchangeType) {
        AtomicInteger n = requests.get(exchangeType);
        return n == null ? 0 : n.get();
    }

    /** One ESP packet a node sent the peer through the relay: who sent it, its SPI and sequence number. */
    record SentEsp(InetAddress node, int spi, int seq) {
    }

    /** From now on records the ESP packets the nodes send to the peer on {@code port} (the NAT-T port). */
    void recordEsp(int port) {
        this.espPort = port;
    }

    /** The ESP packets recorded so far, in the order they passed. */
    List<SentEsp> espSent() {
        return List.copyOf(espSent);
    }

    /** The peer's latest ESP packet on the recorded port ({@link #recordEsp}), or null. */
    byte[] lastEspFromPeer() {
        byte[] esp = lastEspFromPeer;
        return esp == null ? null : esp.clone();
    }

    /** Sends {@code esp} to the current node as the peer's ESP, from the socket the peer's ESP leaves the relay by. */
    void sendAsPeer(byte[] esp) throws IOException {
        lastEspBack.send(ByteBuffer.wrap(esp), new InetSocketAddress(node, espPort));
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
                countRequest(buf, port);
                DatagramChannel back = backs.computeIfAbsent(port + "/" + from, k -> open(front, from, port));
                if (port == espPort && buf.remaining() >= 8 && buf.getInt(0) != 0) { // ESP from the peer
                    byte[] copy = new byte[buf.remaining()];
                    buf.duplicate().get(copy);
                    lastEspBack = back;
                    lastEspFromPeer = copy;
                }
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

    private DatagramChannel open(DatagramChannel front, SocketAddress peer, int port) {
        try {
            DatagramChannel back = DatagramChannel.open().bind(new InetSocketAddress(anycast, 0));
            thread("relay-back-" + peer, () -> pumpBack(back, front, peer, port));
            return back;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void pumpBack(DatagramChannel back, DatagramChannel front, SocketAddress peer, int port) {
        ByteBuffer buf = ByteBuffer.allocate(65_536);
        while (!closed) {
            try {
                buf.clear();
                SocketAddress from = back.receive(buf);
                buf.flip();
                if (port == espPort && buf.remaining() >= 8 && buf.getInt(0) != 0) { // ESP, not IKE (marker) or keepalive
                    espSent.add(new SentEsp(((InetSocketAddress) from).getAddress(), buf.getInt(0), buf.getInt(4)));
                }
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

    /**
     * An IKE request (the response flag clear), counted by exchange type: on the IKE port, or behind a
     * non-ESP marker (on the NAT-T port a datagram without one is ESP, whose bytes say nothing).
     */
    private void countRequest(ByteBuffer b, int port) {
        boolean marker = b.remaining() >= 4 && b.getInt(0) == 0;
        if (!marker && port != ikePort) {
            return;
        }
        int at = marker ? 4 : 0;
        if (b.remaining() >= at + 28 && (b.get(at + 19) & 0x20) == 0) {
            requests.computeIfAbsent(b.get(at + 18) & 0xff, k -> new AtomicInteger()).incrementAndGet();
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
