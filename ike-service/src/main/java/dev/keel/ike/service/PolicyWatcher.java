package dev.keel.ike.service;

import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.session.ConnectionDirectory;
import dev.keel.proto.v1.Connection;
import dev.keel.proto.v1.PolicyEvent;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.PolicyWatchRequest;
import dev.keel.rpc.Statuses;
import io.grpc.Channel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the engine's {@link ConnectionDirectory} equal to policy-service's connections:
 * PolicyService.Watch, a snapshot then deltas (policy.proto); on a broken stream it reconnects
 * from the last revision with back-off (100 ms doubling to 5 s). A connection that cannot run
 * here (no secret, certificates) is left out and logged. New connections are handed to
 * {@code onNew} (which initiates their {@code start} children).
 */
public final class PolicyWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PolicyWatcher.class);

    private final PolicyServiceGrpc.PolicyServiceStub stub;
    private final ConnectionDirectory directory;
    private final Map<String, byte[]> secrets;
    private final int ikePort;
    private final ScheduledExecutorService scheduler;
    private final Consumer<IkeConnection> onNew;
    private final Map<String, Connection> current = new LinkedHashMap<>();
    private long epoch;
    private long revision;
    private long backoffMillis = 100;
    private int attempt;
    private long snapshots;
    private ClientCallStreamObserver<PolicyWatchRequest> call;
    private final CompletableFuture<Void> firstSnapshot = new CompletableFuture<>();
    private boolean closed;

    public PolicyWatcher(Channel policyService, ConnectionDirectory directory, Map<String, byte[]> secrets, int ikePort,
            ScheduledExecutorService scheduler, Consumer<IkeConnection> onNew) {
        this.stub = PolicyServiceGrpc.newStub(policyService);
        this.directory = directory;
        this.secrets = secrets;
        this.ikePort = ikePort;
        this.scheduler = scheduler;
        this.onNew = onNew;
    }

    /** Opens the stream; returns at once. */
    public synchronized PolicyWatcher start() {
        connect();
        return this;
    }

    private synchronized void connect() {
        if (closed) {
            return;
        }
        int mine = ++attempt;
        stub.watch(PolicyWatchRequest.newBuilder().setSinceRevision(revision).setEpoch(epoch).build(),
                new ClientResponseObserver<PolicyWatchRequest, PolicyEvent>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<PolicyWatchRequest> c) {
                        synchronized (PolicyWatcher.this) {
                            call = c;
                        }
                    }

                    @Override
                    public void onNext(PolicyEvent e) {
                        apply(mine, e);
                    }

                    @Override
                    public void onError(Throwable t) {
                        ended(mine, Statuses.brief(t));
                    }

                    @Override
                    public void onCompleted() {
                        ended(mine, "completed");
                    }
                });
    }

    private void apply(int mine, PolicyEvent e) {
        List<IkeConnection> fresh = new ArrayList<>();
        synchronized (this) {
            if (mine != attempt || closed) {
                return;
            }
            backoffMillis = 100;
            Map<String, Connection> before = Map.copyOf(current);
            if (e.hasSnapshot()) {
                current.clear();
                e.getSnapshot().getConnectionsList().forEach(c -> current.put(c.getName(), c));
                snapshots++;
            } else if (e.hasDelta()) {
                e.getDelta().getRemovedConnectionsList().forEach(current::remove);
                e.getDelta().getUpsertedConnectionsList().forEach(c -> current.put(c.getName(), c));
            }
            epoch = e.getEpoch();
            revision = e.getRevision();
            List<IkeConnection> mapped = new ArrayList<>();
            for (Connection c : current.values()) {
                try {
                    IkeConnection ike = PolicyConnections.of(c, secrets, ikePort);
                    mapped.add(ike);
                    if (!c.equals(before.get(c.getName()))) {
                        fresh.add(ike);
                    }
                } catch (IllegalArgumentException x) {
                    LOG.warn("{}", x.getMessage());
                }
            }
            directory.replace(mapped);
            LOG.info("connections at revision {}: {}", revision, mapped.stream().map(IkeConnection::name).toList());
        }
        fresh.forEach(onNew);
        if (e.hasSnapshot()) {
            firstSnapshot.complete(null);
        }
    }

    /** Completes once the connections of the first snapshot are in the directory. */
    public CompletionStage<Void> firstSnapshot() {
        return firstSnapshot;
    }

    private synchronized void ended(int mine, String why) {
        if (mine != attempt || closed) {
            return;
        }
        long delay = backoffMillis;
        backoffMillis = Math.min(backoffMillis * 2, 5_000);
        LOG.info("policy watch ended ({}); reconnecting in {} ms", why, delay);
        scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    /** Snapshots received. */
    public synchronized long snapshots() {
        return snapshots;
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (call != null) {
            call.cancel("closed", null);
        }
    }
}
