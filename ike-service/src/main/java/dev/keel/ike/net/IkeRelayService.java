package dev.keel.ike.net;

import dev.keel.core.net.IpAddress;
import com.google.protobuf.ByteString;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.RelayDatagrams;
import dev.keel.proto.v1.AwaitUsable;
import dev.keel.proto.v1.IkeDatagram;
import dev.keel.proto.v1.IkeRelayGrpc;
import dev.keel.proto.v1.RelayFrame;
import dev.keel.proto.v1.RelayHello;
import dev.keel.proto.v1.RelayWelcome;
import dev.keel.proto.v1.RelayAcquire;
import dev.keel.proto.v1.RelayExpiry;
import dev.keel.proto.v1.UnknownEsp;
import dev.keel.rpc.MutualTls;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ike-service's half of the IKE relay ({@code keel.v1.IkeRelay}, docs/gateway.md): the IKE
 * transport when esp-workers own the outer UDP ports. Workers dial in and name the endpoints they
 * own; their peers' messages go to the {@link IkeReceiver}, and each answer leaves through the
 * worker whose stream the peer's latest message came on (a peer that moved between workers is
 * answered through the new one), or, for a peer not heard from (an initiation, or one whose
 * worker left), through any attached worker that owns the port: every worker serves the same
 * outer address, so the peer sees the same source either way.
 *
 * <p>A worker also reports what its data plane cannot settle itself: ESP whose SPI it has no SA
 * for ({@code UnknownEsp}), a packet of a PROTECT policy without an outbound SA ({@code
 * RelayAcquire}) and a CHILD SA's lifetime ({@code RelayExpiry}); those go to the
 * {@link WorkerReports} with the worker's id (its sad-service node id), which may claim the SA for
 * that node (docs/esp-worker.md, "Several workers per address"), initiate, rekey or delete.
 * {@link #workerOf} names the worker a peer's IKE last came through: the node its new CHILD SAs
 * are installed for.
 */
public final class IkeRelayService extends IkeRelayGrpc.IkeRelayImplBase implements IkeTransport {

    private static final Logger LOG = LoggerFactory.getLogger(IkeRelayService.class);

    /** The longest IKE message one UDP datagram carries behind the non-ESP marker (65535 - 8 - 4). */
    public static final int MAX_MESSAGE = RelayDatagrams.MAX_MESSAGE;

    /** Why a message was not relayed, either way. */
    public enum Drop {
        /** From a worker: a datagram without a valid peer or local endpoint, or an empty or oversized message. */
        MALFORMED,
        /** From a worker: a local endpoint it did not name in its hello. */
        UNKNOWN_LOCAL,
        /** From a worker: a peer of the other address family than the local endpoint. */
        FAMILY_MISMATCH,
        /** From a worker: a frame other than a datagram or a report after the hello. */
        UNEXPECTED_FRAME,
        /**
         * From a worker: an unknown-ESP report with SPI 0 or without a valid sender, an acquire
         * without names or with bad addresses, an expiry without a record id.
         */
        MALFORMED_REPORT,
        /** To a peer: no attached worker owns the port it must leave from. */
        NO_WORKER,
        /**
         * To a peer: the worker's stream has not drained {@link #MAX_UNREADY} answers written since it
         * last was ready (the retransmission timer covers it).
         */
        WORKER_BUSY
    }

    /**
     * Answers buffered on a stream that gRPC calls not ready, before more are dropped: gRPC buffers
     * them anyway, and a stream is "not ready" for ordinary reasons (the worker has not asked for
     * the next message yet), so this bounds the memory, not the ordinary case.
     */
    public static final int MAX_UNREADY = 256;

    private final String serviceId;
    private final InetAddress address;
    private final Set<Integer> servedPorts;
    private final int maxRoutes;
    private volatile IkeReceiver receiver = (port, peer, buf, off, len) -> { };
    private volatile WorkerReports reports = (worker, spi, sender) -> { };
    private final List<Worker> workers = new CopyOnWriteArrayList<>();
    private final Map<InetSocketAddress, Worker> routes = new ConcurrentHashMap<>();
    private final AtomicInteger nextWorker = new AtomicInteger();
    private final Map<Drop, LongAdder> drops = new EnumMap<>(Drop.class);
    private final LongAdder received = new LongAdder();
    private final LongAdder reportsReceived = new LongAdder();
    private final LongAdder sent = new LongAdder();
    private final LongAdder routeResets = new LongAdder();
    /** AwaitUsable requests sent and not answered, by inbound SA id. */
    private final Map<String, CompletableFuture<Boolean>> awaiting = new ConcurrentHashMap<>();

    /**
     * @param serviceId this service's node id, in the welcome
     * @param address   the outer address the workers own (every worker of one gateway shares it)
     * @param ikePort   the port serving as 500 on the workers
     * @param natTPort  the port serving as 4500 on the workers
     * @param maxRoutes peers remembered with their worker; when full the memory starts again (a peer
     *                  then is answered through any worker until it sends again)
     */
    public IkeRelayService(String serviceId, InetAddress address, int ikePort, int natTPort, int maxRoutes) {
        this.serviceId = Objects.requireNonNull(serviceId, "serviceId");
        this.address = Objects.requireNonNull(address, "address");
        this.servedPorts = Set.of(ikePort, natTPort);
        this.maxRoutes = maxRoutes;
        for (Drop d : Drop.values()) {
            drops.put(d, new LongAdder());
        }
    }

    /** Where the workers' messages go (the engine); until set, they are dropped. */
    public void receiver(IkeReceiver r) {
        this.receiver = Objects.requireNonNull(r, "receiver");
    }

    /**
     * Told of a worker's reports (a gRPC thread; must not block). {@code workerId} is the
     * worker's hello's {@code worker_id}, a sad-service node id.
     */
    public interface WorkerReports {
        /** ESP with {@code spi} from {@code sender} reached the worker, which has no SA for it. */
        void onUnknownEsp(String workerId, int spi, InetSocketAddress sender);

        /**
         * A packet to {@code destination} (from {@code source}, {@code protocol}) hit child
         * {@code child} of {@code connection} at the worker, which has no outbound SA for it.
         */
        default void onAcquire(String workerId, String connection, String child, IpAddress source,
                IpAddress destination, int protocol) {
        }

        /** CHILD SA record {@code saId} at the worker reached its soft, or {@code hard}, lifetime. */
        default void onExpiry(String workerId, String saId, boolean hard) {
        }
    }

    /** Where the workers' reports go; until set, they are counted and dropped. */
    public void reports(WorkerReports r) {
        this.reports = Objects.requireNonNull(r, "reports");
    }

    /**
     * The id of the attached worker whose stream {@code peer}'s latest IKE message came on, or
     * null (not heard from, or that worker left).
     */
    public String workerOf(InetSocketAddress peer) {
        Worker w = routes.get(peer);
        return w != null && w.open ? w.id : null;
    }

    /**
     * Asks the worker of node {@code node} to say when the CHILD SA pair ({@code inboundSaId},
     * {@code outboundSaId}) is usable in its data plane, waiting up to {@code timeoutMillis}. The
     * answer: true once it is, false when it is not within the time, when no worker of that node is
     * attached, or when the worker leaves or does not answer (the answer's own wait is bounded a
     * second past the worker's).
     */
    public CompletionStage<Boolean> awaitUsable(String node, String inboundSaId, String outboundSaId,
            int timeoutMillis) {
        Worker w = null;
        for (Worker x : workers) { // the latest attached of that node, if several
            if (x.open && x.id.equals(node)) {
                w = x;
            }
        }
        if (w == null) {
            return CompletableFuture.completedFuture(false);
        }
        CompletableFuture<Boolean> answer = new CompletableFuture<>();
        CompletableFuture<Boolean> earlier = awaiting.put(inboundSaId, answer);
        if (earlier != null) {
            earlier.complete(false);
        }
        answer.completeOnTimeout(false, timeoutMillis + 1_000L, TimeUnit.MILLISECONDS)
                .whenComplete((v, e) -> awaiting.remove(inboundSaId, answer));
        w.writeFrame(RelayFrame.newBuilder().setAwaitUsable(AwaitUsable.newBuilder().setInboundSaId(inboundSaId)
                .setOutboundSaId(outboundSaId).setTimeoutMs(timeoutMillis)).build()); // not a datagram: not in sent()
        return answer;
    }

    @Override
    public StreamObserver<RelayFrame> relay(StreamObserver<RelayFrame> responses) {
        return new Worker((ServerCallStreamObserver<RelayFrame>) responses);
    }

    @Override
    public void send(int localPort, InetSocketAddress peer, byte[] message) {
        Worker w = routes.get(peer);
        if (w == null || !w.open || !w.ports.contains(localPort)) {
            w = anyWorker(localPort);
        }
        if (w == null) {
            drops.get(Drop.NO_WORKER).increment();
            return;
        }
        RelayFrame frame = RelayFrame.newBuilder().setDatagram(IkeDatagram.newBuilder()
                .setPeer(CoreMapping.endpoint(peer.getAddress(), peer.getPort()))
                .setLocal(CoreMapping.endpoint(address, localPort))
                .setMessage(ByteString.copyFrom(message))).build();
        w.write(frame);
    }

    private Worker anyWorker(int localPort) {
        List<Worker> open = workers.stream().filter(x -> x.open && x.ports.contains(localPort)).toList();
        return open.isEmpty() ? null : open.get(Math.floorMod(nextWorker.getAndIncrement(), open.size()));
    }

    /**
     * Why a worker that presented {@code callerIdentities} (its certificate's, through {@link
     * MutualTls#identitiesInContext}; null on a plaintext relay) may not name {@code workerId}, or
     * null: the id is the node ike-service claims CHILD SAs for on the worker's reports and installs
     * them for, so a worker may only name a node its certificate names (CN, DNS or URI name).
     */
    static String impersonation(String workerId, Set<String> callerIdentities) {
        if (callerIdentities == null) {
            return null;
        }
        String id;
        try {
            id = MutualTls.identity(workerId);
        } catch (IllegalArgumentException e) {
            return "hello.worker_id: " + e.getMessage();
        }
        return callerIdentities.contains(id) ? null : "hello.worker_id '" + workerId
                + "' is not a name of the worker's certificate " + callerIdentities.stream().sorted().toList()
                + ": a worker may only act for the node its certificate names";
    }

    /** Why {@code hello} is refused, or null. */
    private String refusal(RelayHello hello) {
        if (hello.getWorkerId().isEmpty() || hello.getWorkerId().length() > 256) {
            return "hello.worker_id: 1..256 characters, got " + hello.getWorkerId().length();
        }
        if (hello.getLocalCount() == 0) {
            return "hello.local: names no endpoint";
        }
        for (int i = 0; i < hello.getLocalCount(); i++) {
            InetSocketAddress l;
            try {
                l = CoreMapping.endpoint(hello.getLocal(i), "hello.local[" + i + "]");
            } catch (IllegalArgumentException e) {
                return e.getMessage();
            }
            if (!l.getAddress().equals(address) || !servedPorts.contains(l.getPort())) {
                return "hello.local[" + i + "]: " + l.getAddress().getHostAddress() + ":" + l.getPort()
                        + " is not an endpoint this ike-service serves (" + address.getHostAddress() + " port "
                        + servedPorts.stream().sorted().map(String::valueOf).reduce((a, b) -> a + " or " + b)
                        .orElseThrow() + ")";
            }
        }
        return null;
    }

    /** One attached worker: its stream, the ports it owns, its state. */
    private final class Worker implements StreamObserver<RelayFrame> {
        private final ServerCallStreamObserver<RelayFrame> call;
        private volatile Set<Integer> ports = Set.of();
        private volatile boolean open;
        private boolean greeted;
        private boolean refused;
        private volatile String id = "(before hello)";
        private int writtenWhileNotReady;

        Worker(ServerCallStreamObserver<RelayFrame> call) {
            this.call = call;
            call.setOnCancelHandler(this::detach);
            call.setOnReadyHandler(() -> {
                synchronized (this) {
                    writtenWhileNotReady = 0;
                }
            });
        }

        @Override
        public void onNext(RelayFrame f) {
            if (refused) {
                return;
            }
            if (!greeted) {
                String why = f.hasHello() ? refusal(f.getHello()) : "the first frame must be a hello, not "
                        + f.getKindCase();
                Status.Code code = Status.Code.INVALID_ARGUMENT;
                if (why == null) {
                    why = impersonation(f.getHello().getWorkerId(), MutualTls.CALLER_IDENTITIES.get());
                    code = Status.Code.PERMISSION_DENIED;
                }
                if (why != null) {
                    refused = true;
                    LOG.warn("IKE relay: worker refused: {}", why);
                    synchronized (this) {
                        call.onError(code.toStatus().withDescription(why).asRuntimeException());
                    }
                    return;
                }
                greeted = true;
                id = f.getHello().getWorkerId();
                Set<Integer> p = new HashSet<>();
                f.getHello().getLocalList().forEach(e -> p.add(e.getPort()));
                ports = Set.copyOf(p);
                synchronized (this) {
                    call.onNext(RelayFrame.newBuilder().setWelcome(RelayWelcome.newBuilder().setServiceId(serviceId))
                            .build());
                }
                open = true;
                workers.add(this);
                LOG.info("IKE relay: worker {} attached, ports {}", id, ports);
                return;
            }
            switch (f.getKindCase()) {
                case DATAGRAM -> receive(f.getDatagram());
                case UNKNOWN_ESP -> unknownEsp(f.getUnknownEsp());
                case ACQUIRE -> acquire(f.getAcquire());
                case EXPIRY -> expiry(f.getExpiry());
                case USABLE -> {
                    CompletableFuture<Boolean> a = awaiting.remove(f.getUsable().getInboundSaId());
                    if (a != null) {
                        a.complete(f.getUsable().getUsable());
                    } else {
                        drops.get(Drop.UNEXPECTED_FRAME).increment(); // late (timed out) or never asked
                    }
                }
                default -> drops.get(Drop.UNEXPECTED_FRAME).increment();
            }
        }

        private void unknownEsp(UnknownEsp r) {
            InetSocketAddress sender;
            try {
                sender = r.hasSender() ? CoreMapping.endpoint(r.getSender(), "unknown_esp.sender") : null;
            } catch (IllegalArgumentException e) {
                sender = null;
            }
            if (r.getSpi() == 0 || sender == null || sender.getPort() == 0
                    || sender.getAddress().getClass() != address.getClass()) {
                drops.get(Drop.MALFORMED_REPORT).increment();
                return;
            }
            reportsReceived.increment();
            reports.onUnknownEsp(id, r.getSpi(), sender);
        }

        private void acquire(RelayAcquire a) {
            int n = a.getSource().size();
            if (a.getConnection().isEmpty() || a.getChild().isEmpty() || (n != 4 && n != 16)
                    || a.getDestination().size() != n || a.getProtocol() > 255) {
                drops.get(Drop.MALFORMED_REPORT).increment();
                return;
            }
            reportsReceived.increment();
            reports.onAcquire(id, a.getConnection(), a.getChild(), IpAddress.fromBytes(a.getSource().toByteArray()),
                    IpAddress.fromBytes(a.getDestination().toByteArray()), a.getProtocol());
        }

        private void expiry(RelayExpiry e) {
            if (e.getSaId().isEmpty() || e.getSaId().length() > 256) {
                drops.get(Drop.MALFORMED_REPORT).increment();
                return;
            }
            reportsReceived.increment();
            reports.onExpiry(id, e.getSaId(), e.getHard());
        }

        private void receive(IkeDatagram d) {
            RelayDatagrams.Endpoints e = RelayDatagrams.endpoints(d);
            if (e == null) {
                drops.get(Drop.MALFORMED).increment();
                return;
            }
            InetSocketAddress peer = e.peer();
            InetSocketAddress local = e.local();
            if (!local.getAddress().equals(address) || !ports.contains(local.getPort())) {
                drops.get(Drop.UNKNOWN_LOCAL).increment();
                return;
            }
            if (peer.getAddress().getClass() != local.getAddress().getClass()) {
                drops.get(Drop.FAMILY_MISMATCH).increment();
                return;
            }
            if (routes.get(peer) != this) {
                if (routes.size() >= maxRoutes) {
                    routes.clear();
                    routeResets.increment();
                }
                routes.put(peer, this);
            }
            received.increment();
            byte[] message = d.getMessage().toByteArray();
            receiver.onMessage(local.getPort(), peer, message, 0, message.length);
        }

        /** Writes one IKE datagram's frame (counted in {@link #sent}). */
        void write(RelayFrame frame) {
            if (writeFrame(frame)) {
                sent.increment();
            }
        }

        /**
         * Writes one frame, whether it went; the engine's loops call this concurrently, gRPC's
         * observer is not thread-safe.
         */
        synchronized boolean writeFrame(RelayFrame frame) {
            if (!open) {
                drops.get(Drop.NO_WORKER).increment();
                return false;
            }
            if (!call.isReady()) {
                if (writtenWhileNotReady >= MAX_UNREADY) {
                    drops.get(Drop.WORKER_BUSY).increment();
                    return false;
                }
                writtenWhileNotReady++;
            }
            try {
                call.onNext(frame);
                return true;
            } catch (RuntimeException e) { // cancelled meanwhile
                drops.get(Drop.NO_WORKER).increment();
                return false;
            }
        }

        @Override
        public void onError(Throwable t) {
            detach();
        }

        @Override
        public void onCompleted() {
            detach();
            synchronized (this) {
                try {
                    call.onCompleted();
                } catch (RuntimeException e) {
                    // already closed
                }
            }
        }

        private void detach() {
            if (!open) {
                return;
            }
            open = false;
            workers.remove(this);
            routes.values().removeIf(w -> w == this);
            LOG.info("IKE relay: worker {} detached", id);
        }
    }

    /** Workers attached now. */
    public int workers() {
        return workers.size();
    }

    /** Messages from workers handed to the receiver. */
    public long received() {
        return received.sum();
    }

    /** Reports from workers (unknown ESP, acquires, expiries) handed to {@link WorkerReports}. */
    public long reportsReceived() {
        return reportsReceived.sum();
    }

    /** IKE messages written to a worker's stream (not the relay's own questions, AwaitUsable). */
    public long sent() {
        return sent.sum();
    }

    /** Times the peer-to-worker memory was full and started again. */
    public long routeResets() {
        return routeResets.sum();
    }

    /** Messages dropped for {@code reason}. */
    public long drops(Drop reason) {
        return drops.get(reason).sum();
    }
}
