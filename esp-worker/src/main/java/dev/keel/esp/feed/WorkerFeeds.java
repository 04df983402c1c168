package dev.keel.esp.feed;

import dev.keel.proto.ChildKeyUnwrapper;
import dev.keel.esp.acquire.ExpiryListener;
import io.grpc.Channel;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Everything that keeps a worker's tables current, wired together: the SPD feed, the SA feed,
 * and the lease / usage maintenance, on one small scheduler of their own (never an event loop),
 * a thread for replay checkpoints ({@link ReplayCheckpoints}), and one for expiry callbacks. Start
 * it, hand {@link #spd()} and {@link #sas()} to the gateway, close it last.
 */
public final class WorkerFeeds implements AutoCloseable {

    private final ScheduledExecutorService scheduler;
    /** Expiry callbacks run here, so a slow listener never delays a lease. */
    private final ExecutorService events;
    private final SpdTable spd = new SpdTable();
    private final SaMaintenance maintenance;
    private final SaTables sas;
    private final SpdFeed spdFeed;
    private final SaFeed saFeed;

    /**
     * @param policyService a channel to policy-service
     * @param saService     a channel to sad-service
     * @param nodeId        this node's id (as sad-service knows it): only SAs it owns are used
     * @param keys          unwraps SA keys (the cluster KEK)
     * @param settings      lease size, report interval, retry back-off, checkpoint rule
     * @param expiries      told of soft and hard expiries
     */
    public WorkerFeeds(Channel policyService, Channel saService, String nodeId, ChildKeyUnwrapper keys,
            SaMaintenance.Settings settings, ExpiryListener expiries) {
        this.scheduler = Executors.newScheduledThreadPool(1, Thread.ofPlatform().daemon().name("keel-feeds-", 0).factory());
        this.maintenance = new SaMaintenance(saService, nodeId, scheduler, settings);
        this.events = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("keel-feed-events").factory());
        this.sas = new SaTables(nodeId, keys, maintenance, maintenance.replayCheckpoints(), expiries, events);
        this.spdFeed = new SpdFeed(policyService, spd, scheduler, settings.minBackoff(), settings.maxBackoff());
        this.saFeed = new SaFeed(saService, sas, scheduler, settings.minBackoff(), settings.maxBackoff());
    }

    /** Opens both watch streams and starts the periodic reports; returns at once. */
    public WorkerFeeds start() {
        maintenance.start(sas);
        spdFeed.start();
        saFeed.start();
        return this;
    }

    public SpdTable spd() {
        return spd;
    }

    public SaTables sas() {
        return sas;
    }

    public SpdFeed spdFeed() {
        return spdFeed;
    }

    public SaFeed saFeed() {
        return saFeed;
    }

    public SaMaintenance maintenance() {
        return maintenance;
    }

    /** Ends the streams and reports, removes and zeroizes every SA, stops the scheduler. */
    @Override
    public void close() {
        spdFeed.close();
        saFeed.close();
        maintenance.close();
        scheduler.shutdownNow();
        sas.clear();
        events.shutdown();
    }
}
