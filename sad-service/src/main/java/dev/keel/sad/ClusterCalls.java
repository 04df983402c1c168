package dev.keel.sad;

import com.hazelcast.map.IMap;
import dev.keel.sad.cluster.SadCluster;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

/**
 * How {@link SaDatabase} calls the cluster without a thread waiting or a thread hop per call
 * (docs/sad.md, "Continuations run in place"): where continuations run, entry processors started
 * without the future IMap wraps their result in, and waiting for a stage where a caller must.
 */
final class ClusterCalls {

    /**
     * Runs a stage's continuation on the thread that completed it. Hazelcast's own default for
     * non-async continuations is ForkJoinPool.commonPool, or, where that pool has one thread (any
     * 2-CPU machine), a new thread per continuation; every continuation here is short and never
     * blocks, so running it in place is both cheaper and safe on Hazelcast's response threads.
     */
    static final Executor DIRECT = Runnable::run;
    /**
     * Runs the continuations that would otherwise run on a Hazelcast thread and start
     * another cluster operation ({@link #OFF_HAZELCAST_THREAD}); they never block.
     */
    static final Executor HOP = Executors.newFixedThreadPool(4, Thread.ofPlatform().daemon()
            .name("keel-sad-install-", 0).factory());
    /**
     * Runs a continuation in place, unless it would run on a Hazelcast thread (a partition thread
     * where a local operation completes, a response thread for a remote one), which may not start
     * cluster operations (IllegalThreadStateException): then on an install thread.
     */
    static final Executor OFF_HAZELCAST_THREAD = r -> {
        if (Thread.currentThread().getName().startsWith("hz.")) {
            HOP.execute(r);
        } else {
            r.run();
        }
    };

    private final SadCluster cluster;

    ClusterCalls(SadCluster cluster) {
        this.cluster = cluster;
    }

    /**
     * {@code map.submitToKey(key, processor)} without the future IMap wraps its result in: that
     * wrapper completes every stage chained on it through Hazelcast's JVM-wide default executor
     * (a thread hop per operation; ~7 us of CPU per install measured on keel-hz-async threads).
     * The invocation's own future completes where the response arrives, and the result is
     * deserialized here; stages chained on the returned future run there too (or where their
     * executor says). Falls back to the public method on a map that is not Hazelcast's proxy.
     * Same operation, partition routing, split-brain protection check and synchronous backup as
     * {@code submitToKey}, which calls the same method; what it skips besides the wrapper is
     * HazelcastInstanceAware injection, which none of sad-service's processors use.
     */
    @SuppressWarnings("unchecked")
    <R> CompletableFuture<R> submit(IMap<?, ?> map, Object key, com.hazelcast.map.EntryProcessor<?, ?, R> processor) {
        if (map instanceof com.hazelcast.map.impl.proxy.MapProxyImpl<?, ?> proxy
                && cluster.hazelcast() instanceof com.hazelcast.spi.impl.SerializationServiceSupport support) {
            var serialization = support.getSerializationService();
            CompletableFuture<R> f = new CompletableFuture<>();
            proxy.executeOnKeyInternal(key, processor).whenCompleteAsync((data, t) -> {
                if (t != null) {
                    f.completeExceptionally(t);
                    return;
                }
                try {
                    f.complete((R) serialization.toObject(data));
                } catch (RuntimeException e) {
                    f.completeExceptionally(e);
                }
            }, DIRECT);
            return f;
        }
        return plain(((IMap<Object, Object>) map).submitToKey(key, (com.hazelcast.map.EntryProcessor<Object, Object, R>) processor));
    }

    /**
     * A plain CompletableFuture completed in place by a Hazelcast future: stages chained on it run
     * where it completes (or where their executor says), never on Hazelcast's default executor,
     * which on a 2-CPU machine starts a thread per continuation.
     */
    static <T> CompletableFuture<T> plain(CompletionStage<T> hazelcast) {
        CompletableFuture<T> f = new CompletableFuture<>();
        hazelcast.whenCompleteAsync((v, t) -> {
            if (t != null) {
                f.completeExceptionally(t);
            } else {
                f.complete(v);
            }
        }, DIRECT);
        return f;
    }

    /** Waits for a stage and rethrows its failure as it was thrown (not wrapped). */
    static <T> T join(CompletionStage<T> stage) {
        try {
            return stage.toCompletableFuture().join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }
}
