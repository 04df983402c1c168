package dev.keel.sad.grpc;

import dev.keel.proto.v1.AllocateSpiRequest;
import dev.keel.proto.v1.AllocateSpiResponse;
import dev.keel.proto.v1.CheckpointReplayResult;
import dev.keel.proto.v1.CheckpointReplaysRequest;
import dev.keel.proto.v1.CheckpointReplaysResponse;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.ClaimOwnershipResponse;
import dev.keel.proto.v1.DeleteChildSaRequest;
import dev.keel.proto.v1.DeleteChildSaResponse;
import dev.keel.proto.v1.DeleteIkeSaRequest;
import dev.keel.proto.v1.DeleteIkeSaResponse;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.GetChildSaResponse;
import dev.keel.proto.v1.GetIkeSaRequest;
import dev.keel.proto.v1.GetIkeSaResponse;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.InstallChildSaResponse;
import dev.keel.proto.v1.InstallChildSaResult;
import dev.keel.proto.v1.InstallChildSasRequest;
import dev.keel.proto.v1.InstallChildSasResponse;
import io.grpc.Status;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import dev.keel.proto.v1.InstallIkeSaRequest;
import dev.keel.proto.v1.InstallIkeSaResponse;
import dev.keel.proto.v1.LeaseSequenceRequest;
import dev.keel.proto.v1.LeaseSequenceResponse;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListChildSasResponse;
import dev.keel.proto.v1.ReportUsageRequest;
import dev.keel.proto.v1.ReportUsageResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.UpdateChildSaRequest;
import dev.keel.proto.v1.UpdateChildSaResponse;
import dev.keel.proto.v1.WatchRequest;
import dev.keel.proto.v1.WatchResponse;
import dev.keel.sad.OwnershipClaims;
import dev.keel.sad.SaDatabase;
import dev.keel.sad.watch.SaEventHub;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import java.util.ArrayList;
import java.util.function.BiFunction;
import java.util.function.Function;

/** The generated service, thin: each call delegates to {@link SaDatabase}, {@link OwnershipClaims} or the event hub. */
public final class SaGrpcService extends SaServiceGrpc.SaServiceImplBase {

    private final SaDatabase db;
    private final OwnershipClaims claims;
    private final SaEventHub hub;
    private final Executor watchExecutor;

    public SaGrpcService(SaDatabase db, SaEventHub hub, Executor watchExecutor) {
        this.db = db;
        this.claims = new OwnershipClaims(db);
        this.hub = hub;
        this.watchExecutor = watchExecutor;
    }

    private static <T> void unary(StreamObserver<T> out, Supplier<T> call) {
        T result;
        try {
            result = call.get();
        } catch (RuntimeException e) {
            out.onError(Statuses.of(e));
            return;
        }
        out.onNext(result);
        out.onCompleted();
    }

    private static <T> void async(StreamObserver<T> out, Supplier<CompletionStage<T>> call) {
        CompletionStage<T> stage;
        try {
            stage = call.get();
        } catch (RuntimeException e) {
            out.onError(Statuses.of(e));
            return;
        }
        stage.whenComplete((r, t) -> {
            if (t != null) {
                out.onError(Statuses.of(t));
            } else {
                out.onNext(r);
                out.onCompleted();
            }
        });
    }

    @Override
    public void allocateSpi(AllocateSpiRequest req, StreamObserver<AllocateSpiResponse> out) {
        unary(out, () -> {
            List<Integer> spis = db.allocateSpis(req);
            return AllocateSpiResponse.newBuilder().setSpi(spis.getFirst()).addAllSpis(spis).build();
        });
    }

    @Override
    public void installChildSa(InstallChildSaRequest req, StreamObserver<InstallChildSaResponse> out) {
        async(out, () -> db.installChildSaAsync(req).thenApply(r -> InstallChildSaResponse.newBuilder()
                .setChildSa(r).build()));
    }

    /** Most items in one InstallChildSas call. */
    static final int MAX_BATCH = 1000;

    @Override
    public void installChildSas(InstallChildSasRequest req, StreamObserver<InstallChildSasResponse> out) {
        // One batched install for all items (a few cluster operations); each item gets its outcome.
        batch(req.getItemsCount(), MAX_BATCH, () -> db.installChildSas(req.getItemsList()),
                o -> InstallChildSaResult.newBuilder().setChildSa(o.record()).build(),
                (code, message) -> InstallChildSaResult.newBuilder().setCode(code).setMessage(message).build(),
                results -> InstallChildSasResponse.newBuilder().addAllResults(results).build(), out);
    }

    @Override
    public void updateChildSa(UpdateChildSaRequest req, StreamObserver<UpdateChildSaResponse> out) {
        unary(out, () -> UpdateChildSaResponse.newBuilder().setChildSa(db.updateChildSa(req)).build());
    }

    @Override
    public void deleteChildSa(DeleteChildSaRequest req, StreamObserver<DeleteChildSaResponse> out) {
        unary(out, () -> DeleteChildSaResponse.newBuilder().setChildSa(db.deleteChildSa(req.getId())).build());
    }

    @Override
    public void installIkeSa(InstallIkeSaRequest req, StreamObserver<InstallIkeSaResponse> out) {
        async(out, () -> db.installIkeSaAsync(req).thenApply(r -> InstallIkeSaResponse.newBuilder().setIkeSa(r).build()));
    }

    @Override
    public void deleteIkeSa(DeleteIkeSaRequest req, StreamObserver<DeleteIkeSaResponse> out) {
        unary(out, () -> {
            db.deleteIkeSa(req.getId());
            return DeleteIkeSaResponse.getDefaultInstance();
        });
    }

    @Override
    public void getChildSa(GetChildSaRequest req, StreamObserver<GetChildSaResponse> out) {
        unary(out, () -> GetChildSaResponse.newBuilder().setChildSa(req.getInboundSpi() != 0
                ? claims.childByInboundSpi(req) : db.getChildSa(req.getId(), req.getIncludeWrappedKeys())).build());
    }

    @Override
    public void getIkeSa(GetIkeSaRequest req, StreamObserver<GetIkeSaResponse> out) {
        unary(out, () -> GetIkeSaResponse.newBuilder()
                .setIkeSa(db.getIkeSa(req.getId(), req.getIncludeWrappedKeys())).build());
    }

    @Override
    public void listChildSas(ListChildSasRequest req, StreamObserver<ListChildSasResponse> out) {
        unary(out, () -> db.listChildSas(req));
    }

    @Override
    public void leaseSequence(LeaseSequenceRequest req, StreamObserver<LeaseSequenceResponse> out) {
        async(out, () -> db.leaseSequence(req));
    }

    /** Most items in one CheckpointReplays call. */
    static final int MAX_CHECKPOINTS = 4096;

    @Override
    public void checkpointReplays(CheckpointReplaysRequest req, StreamObserver<CheckpointReplaysResponse> out) {
        batch(req.getItemsCount(), MAX_CHECKPOINTS, () -> db.checkpointReplays(req.getItemsList()),
                o -> CheckpointReplayResult.newBuilder().setCheckpoint(o.checkpoint()).setMargin(o.margin()).build(),
                (code, message) -> CheckpointReplayResult.newBuilder().setCode(code).setMessage(message).build(),
                results -> CheckpointReplaysResponse.newBuilder().addAllResults(results).build(), out);
    }

    /**
     * Answers a batch call of {@code n} items: INVALID_ARGUMENT without items or with more than
     * {@code max}; else each item's result, an item's refusal as its code and {@code items[i]: }
     * message, a failure of the whole batch as every item's.
     */
    private static <O extends SaDatabase.ItemOutcome, R, P> void batch(int n, int max,
            Supplier<CompletionStage<List<O>>> call, Function<O, R> ok, BiFunction<Integer, String, R> refused,
            Function<List<R>, P> response, StreamObserver<P> out) {
        if (n == 0 || n > max) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("items: " + n + " items, want 1.." + max)
                    .asRuntimeException());
            return;
        }
        CompletionStage<List<O>> all;
        try {
            all = call.get();
        } catch (RuntimeException e) {
            all = CompletableFuture.failedFuture(e);
        }
        all.whenComplete((outcomes, t) -> {
            List<R> results = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                Throwable err = t != null ? t : outcomes.get(i).error();
                if (err == null) {
                    results.add(ok.apply(outcomes.get(i)));
                } else {
                    Status s = Statuses.of(err).getStatus();
                    results.add(refused.apply(s.getCode().value(), "items[" + i + "]: " + s.getDescription()));
                }
            }
            out.onNext(response.apply(results));
            out.onCompleted();
        });
    }

    @Override
    public void reportUsage(ReportUsageRequest req, StreamObserver<ReportUsageResponse> out) {
        async(out, () -> db.reportUsage(req).thenApply(r -> ReportUsageResponse.newBuilder().setChildSa(r).build()));
    }

    @Override
    public void claimOwnership(ClaimOwnershipRequest req, StreamObserver<ClaimOwnershipResponse> out) {
        unary(out, () -> req.getIkeSaId().isEmpty()
                ? ClaimOwnershipResponse.newBuilder().setChildSa(db.claimOwnership(req)).build()
                : ClaimOwnershipResponse.newBuilder().setIkeSa(claims.claimIkeSa(req)).build());
    }

    @Override
    public void watch(WatchRequest req, StreamObserver<WatchResponse> out) {
        try {
            WatchStream.start(req, out, hub, watchExecutor);
        } catch (RuntimeException e) {
            out.onError(Statuses.of(e));
        }
    }
}
