package dev.keel.esp.net;

import dev.keel.core.net.IpAddress;
import com.google.protobuf.ByteString;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.RelayDatagrams;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.AwaitUsable;
import dev.keel.proto.v1.ChildSaUsable;
import dev.keel.proto.v1.IkeDatagram;
import dev.keel.proto.v1.IkeRelayGrpc;
import dev.keel.proto.v1.RelayFrame;
import dev.keel.proto.v1.RelayHello;
import dev.keel.proto.v1.RelayAcquire;
import dev.keel.proto.v1.RelayExpiry;
import dev.keel.proto.v1.UnknownEsp;
import dev.keel.rpc.Statuses;
import io.grpc.Channel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * esp-worker's half of the IKE relay ({@code keel.v1.IkeRelay}, docs/gateway.md): the IKE messages
 * arriving on this worker's outer ports (4500 after the non-ESP marker, 500 where the worker owns
 * it) go to ike-service over one gRPC stream, and ike-service's answers leave through the socket
 * they name, so the peer sees one address and one NAT mapping.
 *
 * <p>The event loops only copy a message into a bounded queue ({@link Drop#QUEUE_FULL} when it is
 * full, {@link Drop#DISCONNECTED} while no stream is open); one writer thread drains it into the
 * stream, honouring gRPC flow control. A stream that ends is opened again with exponential
 * back-off (with jitter), reset once ike-service welcomes the worker. IKE retransmits, so a
 * dropped message costs one retransmission interval, never a tunnel.
 */
public final class IkeRelayClient implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(IkeRelayClient.class);

    /** The longest IKE message one UDP datagram carries behind the non-ESP marker (65535 - 8 - 4). */
    public static final int MAX_MESSAGE = RelayDatagrams.MAX_MESSAGE;

    /** Why a message was not relayed, either way. */
    public enum Drop {
        /** From a peer: the queue to the stream was full (ike-service slower than the peers). */
        QUEUE_FULL,
        /** From a peer: no stream to ike-service was open, or it broke before the message went. */
        DISCONNECTED,
        /** From a peer: empty, or longer than {@link #MAX_MESSAGE}. */
        BAD_LENGTH,
        /** From ike-service: a datagram without a valid peer or local endpoint, or an empty or oversized message. */
        MALFORMED,
        /** From ike-service: a local endpoint this worker did not name in its hello. */
        UNKNOWN_LOCAL,
        /** From ike-service: a peer of the other address family than the local endpoint. */
        FAMILY_MISMATCH,
        /** From ike-service: a frame that is neither a welcome nor a datagram, or a second welcome. */
        UNEXPECTED_FRAME
    }

    /**
     * @param workerId      this worker's name in the hello (its sad-service node id)
     * @param queueCapacity messages waiting for the stream at most
     */
    public record Settings(String workerId, int queueCapacity, Duration minBackoff, Duration maxBackoff) {
        public Settings {
            Objects.requireNonNull(workerId, "workerId");
            if (workerId.isEmpty() || workerId.length() > 256) {
                throw new IllegalArgumentException("worker id: 1..256 characters, got " + workerId.length());
            }
            if (queueCapacity < 1) {
                throw new IllegalArgumentException("queue capacity: at least 1, got " + queueCapacity);
            }
        }

        /** 4,096 queued messages, back-off from 100 ms to 5 s. */
        public static Settings of(String workerId) {
            return new Settings(workerId, 4_096, Duration.ofMillis(100), Duration.ofSeconds(5));
        }
    }

    private final IkeRelayGrpc.IkeRelayStub stub;
    private final Settings settings;
    private final Backoff backoff;
    private final Map<InetSocketAddress, IkeSender> senders = new LinkedHashMap<>();
    private final BlockingQueue<RelayFrame> queue;
    private final Map<Drop, LongAdder> drops = new EnumMap<>(Drop.class);
    private final LongAdder relayed = new LongAdder();
    private final LongAdder reportsSent = new LongAdder();
    private final LongAdder reportsLost = new LongAdder();
    private final LongAdder answered = new LongAdder();
    private final LongAdder connects = new LongAdder();
    private final ScheduledExecutorService reconnects;
    private final Thread writer;

    private volatile UsableProbe usableProbe = (in, out, timeout, answer) -> answer.accept(false);
    private volatile Attempt current;
    private volatile Map<InetSocketAddress, IkeSender> ports = Map.of();
    private volatile boolean closed;
    private boolean started;

    /** A client of the IkeRelay service on {@code ikeService}; {@link #port} the sockets, then {@link #start}. */
    public IkeRelayClient(Channel ikeService, Settings settings) {
        this.stub = IkeRelayGrpc.newStub(ikeService);
        this.settings = settings;
        this.backoff = new Backoff(settings.minBackoff(), settings.maxBackoff());
        this.queue = new ArrayBlockingQueue<>(settings.queueCapacity());
        for (Drop d : Drop.values()) {
            drops.put(d, new LongAdder());
        }
        this.reconnects = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("keel-ike-relay-connect").factory());
        this.writer = Thread.ofPlatform().daemon().name("keel-ike-relay-writer").unstarted(this::writeLoop);
    }

    /**
     * Relays the IKE messages of the socket bound to {@code local} (the address and port the peers
     * send to) and sends ike-service's answers for it through {@code sender}. Call before
     * {@link #start}.
     *
     * @return the hand-off to give that socket (the data plane's {@code FedGateway.Config.withIke},
     *         or {@link IkePortSocket#handTo})
     */
    public synchronized IkeHandoff port(InetSocketAddress local, IkeSender sender) {
        if (started) {
            throw new IllegalStateException("ports are named before start: the hello lists them");
        }
        if (local.getAddress() == null || local.getAddress().isAnyLocalAddress() || local.getPort() == 0) {
            throw new IllegalArgumentException("relay port " + local + ": a bound address and port, not a wildcard");
        }
        if (senders.putIfAbsent(local, Objects.requireNonNull(sender, "sender")) != null) {
            throw new IllegalArgumentException("relay port " + local + " named twice");
        }
        Endpoint localEndpoint = CoreMapping.endpoint(local.getAddress(), local.getPort());
        return (buf, off, len, peer) -> relay(localEndpoint, buf, off, len, peer);
    }

    /** Opens the stream (and keeps one open until {@link #close}). */
    public synchronized IkeRelayClient start() {
        if (senders.isEmpty()) {
            throw new IllegalStateException("no port to relay");
        }
        started = true;
        ports = Map.copyOf(senders);
        writer.start();
        reconnects.execute(this::connect);
        return this;
    }

    /** On an event loop: copies the message into the queue, or counts why not. Never blocks. */
    private void relay(Endpoint local, byte[] buf, int off, int len, InetSocketAddress peer) {
        if (len <= 0 || len > MAX_MESSAGE) {
            drops.get(Drop.BAD_LENGTH).increment();
            return;
        }
        if (current == null) {
            drops.get(Drop.DISCONNECTED).increment();
            return;
        }
        RelayFrame frame = RelayFrame.newBuilder().setDatagram(IkeDatagram.newBuilder()
                .setPeer(CoreMapping.endpoint(peer.getAddress(), peer.getPort()))
                .setLocal(local)
                .setMessage(ByteString.copyFrom(buf, off, len))).build();
        if (!queue.offer(frame)) {
            drops.get(Drop.QUEUE_FULL).increment();
        }
    }

    /**
     * On an event loop: queues a report of ESP with {@code spi} from {@code sender} that found no SA
     * here, for ike-service to claim (bound the calls: {@link UnknownSpiReports}). Never blocks.
     *
     * @return whether it was queued (false: no stream open, or the queue is full)
     */
    public boolean reportUnknownEsp(int spi, InetSocketAddress sender) {
        return report(RelayFrame.newBuilder().setUnknownEsp(UnknownEsp.newBuilder().setSpi(spi)
                .setSender(CoreMapping.endpoint(sender.getAddress(), sender.getPort()))).build());
    }

    /**
     * Queues an acquire: a packet from {@code source} to {@code destination} ({@code protocol})
     * hit child {@code child} of {@code connection} and this worker has no outbound SA for it
     * (the caller's {@code AcquireLimiter} keeps one per policy in flight). Never blocks.
     *
     * @return whether it was queued (false: no stream open, or the queue is full)
     */
    public boolean reportAcquire(String connection, String child, IpAddress source, IpAddress destination,
            int protocol) {
        return report(RelayFrame.newBuilder().setAcquire(RelayAcquire.newBuilder().setConnection(connection)
                .setChild(child).setSource(ByteString.copyFrom(source.bytes()))
                .setDestination(ByteString.copyFrom(destination.bytes())).setProtocol(protocol)).build());
    }

    /**
     * Queues a lifetime event of CHILD SA record {@code saId} (soft, or {@code hard}) for
     * ike-service, which rekeys or deletes it. Never blocks.
     *
     * @return whether it was queued (false: no stream open, or the queue is full)
     */
    public boolean reportExpiry(String saId, boolean hard) {
        return report(RelayFrame.newBuilder().setExpiry(RelayExpiry.newBuilder().setSaId(saId).setHard(hard)).build());
    }

    /**
     * How the worker finds out whether a CHILD SA pair is usable in its data plane: called on the
     * relay's thread for each ike-service question; must not block, and must call {@code answer}
     * once, within about {@code timeoutMillis}.
     */
    @FunctionalInterface
    public interface UsableProbe {
        void probe(String inboundSaId, String outboundSaId, int timeoutMillis, java.util.function.Consumer<Boolean> answer);
    }

    /** Answers ike-service's AwaitUsable questions with {@code probe} (until set: never usable). */
    public void usableProbe(UsableProbe probe) {
        this.usableProbe = Objects.requireNonNull(probe, "probe");
    }

    /** An AwaitUsable from ike-service: probed, then answered on the stream. */
    private void awaitUsable(AwaitUsable q) {
        String in = q.getInboundSaId();
        if (in.isEmpty() || q.getOutboundSaId().isEmpty() || q.getTimeoutMs() < 1 || q.getTimeoutMs() > 60_000) {
            drops.get(Drop.UNEXPECTED_FRAME).increment();
            report(RelayFrame.newBuilder().setUsable(ChildSaUsable.newBuilder().setInboundSaId(in)).build());
            return;
        }
        usableProbe.probe(in, q.getOutboundSaId(), q.getTimeoutMs(), usable -> report(RelayFrame.newBuilder()
                .setUsable(ChildSaUsable.newBuilder().setInboundSaId(in).setUsable(usable)).build()));
    }

    private boolean report(RelayFrame f) {
        return current != null && queue.offer(f);
    }

    private void connect() {
        if (closed) {
            return;
        }
        Attempt a = new Attempt();
        connects.increment();
        stub.relay(a);
        // beforeStart ran inside relay(): the call exists; the hello goes first, before any datagram
        RelayHello.Builder hello = RelayHello.newBuilder().setWorkerId(settings.workerId());
        ports.keySet().forEach(l -> hello.addLocal(CoreMapping.endpoint(l.getAddress(), l.getPort())));
        try {
            synchronized (a) {
                a.call.onNext(RelayFrame.newBuilder().setHello(hello).build());
            }
        } catch (RuntimeException e) { // cancelled by close() meanwhile
            return;
        }
        current = a;
        if (a.ended || closed) { // it failed at once (its end scheduled the next attempt), or we are closing
            current = null;
            a.call.cancel("closed", null);
        }
    }

    private void writeLoop() {
        while (!closed) {
            RelayFrame f;
            try {
                f = queue.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (f == null) {
                continue;
            }
            boolean datagram = f.hasDatagram(); // the rest are reports (unknown ESP, acquires, expiries), counted apart
            Attempt a = current;
            if (a == null || !a.awaitReady()) {
                (datagram ? drops.get(Drop.DISCONNECTED) : reportsLost).increment();
                continue;
            }
            try {
                synchronized (a) {
                    a.call.onNext(f);
                }
                (datagram ? relayed : reportsSent).increment();
            } catch (RuntimeException e) { // the call ended meanwhile
                (datagram ? drops.get(Drop.DISCONNECTED) : reportsLost).increment();
            }
        }
    }

    /** An answer from ike-service: out through the socket it names, or counted. */
    private void answer(IkeDatagram d) {
        RelayDatagrams.Endpoints e = RelayDatagrams.endpoints(d);
        if (e == null) {
            drops.get(Drop.MALFORMED).increment();
            return;
        }
        InetSocketAddress peer = e.peer();
        InetSocketAddress local = e.local();
        IkeSender sender = ports.get(local);
        if (sender == null) {
            drops.get(Drop.UNKNOWN_LOCAL).increment();
            return;
        }
        if (peer.getAddress().getClass() != local.getAddress().getClass()) {
            drops.get(Drop.FAMILY_MISMATCH).increment();
            return;
        }
        byte[] message = d.getMessage().toByteArray();
        sender.send(message, 0, message.length, peer);
        answered.increment();
    }

    /** One stream: its call, whether ike-service welcomed it, and flow control for the writer. */
    private final class Attempt implements ClientResponseObserver<RelayFrame, RelayFrame> {
        private ClientCallStreamObserver<RelayFrame> call;
        private volatile boolean welcomed;
        private volatile boolean ended;

        @Override
        public void beforeStart(ClientCallStreamObserver<RelayFrame> c) {
            call = c;
            c.setOnReadyHandler(() -> {
                synchronized (this) {
                    notifyAll();
                }
            });
        }

        /** Waits while gRPC's buffer is full; false when the stream ended or the client closed. */
        synchronized boolean awaitReady() {
            while (!call.isReady()) {
                if (ended || closed) {
                    return false;
                }
                try {
                    wait(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return !ended;
        }

        @Override
        public void onNext(RelayFrame f) {
            switch (f.getKindCase()) {
                case DATAGRAM -> answer(f.getDatagram());
                case WELCOME -> {
                    if (welcomed) {
                        drops.get(Drop.UNEXPECTED_FRAME).increment();
                        return;
                    }
                    welcomed = true;
                    backoff.reset();
                    LOG.info("IKE relay: worker {} attached to ike-service {}", settings.workerId(),
                            f.getWelcome().getServiceId());
                }
                case AWAIT_USABLE -> awaitUsable(f.getAwaitUsable());
                default -> drops.get(Drop.UNEXPECTED_FRAME).increment();
            }
        }

        @Override
        public void onError(Throwable t) {
            ended(Statuses.brief(t));
        }

        @Override
        public void onCompleted() {
            ended("completed by ike-service");
        }

        private void ended(String why) {
            ended = true;
            synchronized (this) {
                notifyAll();
            }
            if (current == this) {
                current = null;
            }
            if (closed) {
                return;
            }
            long delay = backoff.nextDelayMillis();
            LOG.warn("IKE relay stream of worker {} ended ({}); reconnecting in {} ms", settings.workerId(), why, delay);
            reconnects.schedule(IkeRelayClient.this::connect, delay, TimeUnit.MILLISECONDS);
        }
    }

    /** Whether a stream is open and ike-service has welcomed this worker on it. */
    public boolean attached() {
        Attempt a = current;
        return a != null && a.welcomed;
    }

    /** Messages from peers written to the stream. */
    public long relayed() {
        return relayed.sum();
    }

    /** Reports (unknown ESP, acquires, expiries) written to the stream. */
    public long reportsSent() {
        return reportsSent.sum();
    }

    /** Reports queued but lost because the stream broke before they went. */
    public long reportsLost() {
        return reportsLost.sum();
    }

    /** Answers from ike-service handed to a socket. */
    public long answered() {
        return answered.sum();
    }

    /** Streams opened (the first and every reconnect). */
    public long connects() {
        return connects.sum();
    }

    /** Messages dropped for {@code reason}. */
    public long drops(Drop reason) {
        return drops.get(reason).sum();
    }

    /** Cancels the stream and stops reconnecting; queued messages are dropped. */
    @Override
    public void close() {
        closed = true;
        Attempt a = current;
        current = null;
        if (a != null && a.call != null) {
            a.call.cancel("worker closing", null);
        }
        reconnects.shutdownNow();
        writer.interrupt();
    }
}
