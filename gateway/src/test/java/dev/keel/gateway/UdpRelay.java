package dev.keel.gateway;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * "The network" between a peer and a gateway node on loopback, as a NAT would carry it: each front
 * port (where the peer sends) goes to a port of the current node, and each peer source gets a
 * socket of the relay's own, so the node sees the same source address and port for as long as the
 * relay runs, also after {@link #routeTo} moved the traffic to another node (an anycast route moving
 * after a failover: the peer's packets reach another node unchanged). Answers go back out from the
 * front port. Counts the IKE requests of every exchange type each way; can record which node sent
 * the peer which ESP packet, and send the peer's latest ESP packet again (a replay from the peer's
 * source).
 */
public final class UdpRelay implements AutoCloseable {

    private final InetAddress source;
    /** Front port to the node's port. */
    private final Map<Integer, Integer> ports;
    private final int ikeFrontPort;
    private final List<DatagramChannel> channels = new ArrayList<>();
    private final Map<String, DatagramChannel> backs = new ConcurrentHashMap<>();
    private final Map<Integer, AtomicInteger> fromPeer = new ConcurrentHashMap<>();
    private final Map<Integer, AtomicInteger> toPeer = new ConcurrentHashMap<>();
    private final Queue<SentEsp> espSent = new ConcurrentLinkedQueue<>();
    private volatile int espPort = -1;
    private volatile InetAddress node;
    /** The peer's latest ESP packet on the recorded port, and the socket it left the relay through. */
    private volatile byte[] lastEspFromPeer;
    private volatile DatagramChannel lastEspBack;
    private volatile boolean closed;

    /**
     * Forwards each front port of {@code front} (a key of {@code ports}; {@code ikeFrontPort} is
     * the IKE port, the others NAT-T) to {@code node}'s port of the map, from sockets of its own on
     * {@code source}.
     */
    public UdpRelay(InetAddress front, InetAddress source, InetAddress node, int ikeFrontPort,
            Map<Integer, Integer> ports) throws IOException {
        this.source = source;
        this.node = node;
        this.ikeFrontPort = ikeFrontPort;
        this.ports = Map.copyOf(ports);
        try {
            for (int port : ports.keySet()) {
                DatagramChannel f = DatagramChannel.open().bind(new InetSocketAddress(front, port));
                register(f);
                Thread.ofPlatform().daemon().name("relay-front-" + port).start(() -> pumpFront(f, port));
            }
        } catch (IOException e) {
            close();
            throw e;
        }
    }

    /** Forwards {@code ports} of {@code anycast} (the IKE port first) to {@code node}'s same ports. */
    static UdpRelay anycast(InetAddress anycast, InetAddress node, int... ports) throws IOException {
        Map<Integer, Integer> same = new LinkedHashMap<>();
        for (int port : ports) {
            same.put(port, port);
        }
        return new UdpRelay(anycast, anycast, node, ports[0], same);
    }

    /** From now on the network hands the front's packets to {@code next} (BGP moved the route). */
    void routeTo(InetAddress next) {
        this.node = next;
    }

    /** IKE_SA_INIT requests from the peer so far. */
    int initRequests() {
        return requestsFromPeer(34);
    }

    /** IKE requests of {@code exchangeType} from the peer so far (RFC 7296 §3.1: 34 IKE_SA_INIT, 36 CREATE_CHILD_SA). */
    public int requestsFromPeer(int exchangeType) {
        return count(fromPeer, exchangeType);
    }

    /** IKE requests of {@code exchangeType} the nodes sent the peer so far. */
    public int requestsToPeer(int exchangeType) {
        return count(toPeer, exchangeType);
    }

    private static int count(Map<Integer, AtomicInteger> counts, int exchangeType) {
        AtomicInteger n = counts.get(exchangeType);
        return n == null ? 0 : n.get();
    }

    /** One ESP packet a node sent the peer through the relay: who sent it, its SPI and sequence number. */
    record SentEsp(InetAddress node, int spi, int seq) {
    }

    /** From now on records the ESP packets the nodes send to the peer on front port {@code port} (the NAT-T port). */
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
        lastEspBack.send(ByteBuffer.wrap(esp), new InetSocketAddress(node, ports.get(espPort)));
    }

    private void register(DatagramChannel c) throws IOException {
        synchronized (channels) {
            if (closed) {
                c.close();
                throw new ClosedChannelException();
            }
            channels.add(c);
        }
    }

    private void pumpFront(DatagramChannel front, int port) {
        ByteBuffer buf = ByteBuffer.allocate(65_536);
        int to = ports.get(port);
        while (!closed) {
            try {
                buf.clear();
                SocketAddress from = front.receive(buf);
                buf.flip();
                countRequest(buf, port, fromPeer);
                DatagramChannel back = backs.computeIfAbsent(port + "/" + from, k -> open(front, from, port));
                if (port == espPort && isEsp(buf)) {
                    byte[] copy = new byte[buf.remaining()];
                    buf.duplicate().get(copy);
                    lastEspBack = back;
                    lastEspFromPeer = copy;
                }
                back.send(buf, new InetSocketAddress(node, to));
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException | RuntimeException e) {
                if (!closed) {
                    System.err.println("relay: " + e);
                }
            }
        }
    }

    private DatagramChannel open(DatagramChannel front, SocketAddress peer, int port) {
        try {
            DatagramChannel back = DatagramChannel.open().bind(new InetSocketAddress(source, 0));
            register(back);
            Thread.ofPlatform().daemon().name("relay-back-" + peer).start(() -> pumpBack(back, front, peer, port));
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
                countRequest(buf, port, toPeer);
                if (port == espPort && isEsp(buf)) {
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

    /** ESP, not IKE behind the non-ESP marker or a keepalive (RFC 3948 §2.2, §2.3). */
    private static boolean isEsp(ByteBuffer b) {
        return b.remaining() >= 8 && b.getInt(0) != 0;
    }

    /**
     * An IKE request (RFC 7296 §3.1: the response flag clear) counted by exchange type: any datagram
     * on the IKE port, or one behind the non-ESP marker on a NAT-T port (RFC 3948 §2.2; without
     * one a datagram there is ESP, whose bytes say nothing).
     */
    private void countRequest(ByteBuffer b, int frontPort, Map<Integer, AtomicInteger> counts) {
        boolean marker = b.remaining() >= 4 && b.getInt(0) == 0;
        if (!marker && frontPort != ikeFrontPort) {
            return;
        }
        int at = marker ? 4 : 0;
        if (b.remaining() >= at + 28 && (b.get(at + 19) & 0x20) == 0) {
            counts.computeIfAbsent(b.get(at + 18) & 0xff, k -> new AtomicInteger()).incrementAndGet();
        }
    }

    @Override
    public void close() throws IOException {
        synchronized (channels) {
            closed = true;
            for (DatagramChannel c : channels) {
                c.close();
            }
        }
    }
}
