package dev.keel.ike.service;

import dev.keel.ike.admin.ChildSaUsage;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListChildSasResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * CHILD SAs' traffic as the data plane reports it to the SAD (ReportUsage, every second by
 * default): bytes, packets and last use of each record, read with ListChildSas. The one source the
 * gateway and ike-service apart both have, costing the data plane nothing it does not do anyway;
 * up to one report interval old.
 */
public final class SadChildSaUsage implements ChildSaUsage {

    /** Records per page (ListChildSas's most). */
    private static final int PAGE = 1_000;
    /** How long one page may take. */
    private static final long PAGE_DEADLINE_SECONDS = 5;

    private final SaServiceGrpc.SaServiceStub sad;
    private final IntFunction<ChildSaRecords.Ids> ids;

    /**
     * @param saService sad-service
     * @param ids       the record ids of the CHILD SA with a given inbound SPI ({@link SadChildInstaller#ids})
     */
    public SadChildSaUsage(Channel saService, IntFunction<ChildSaRecords.Ids> ids) {
        this.sad = SaServiceGrpc.newStub(saService);
        this.ids = ids;
    }

    @Override
    public CompletionStage<Lookup> fetch(String connection) {
        Map<String, Traffic> byId = new HashMap<>();
        CompletableFuture<Lookup> done = new CompletableFuture<>();
        page(connection, "", byId, done);
        return done;
    }

    private void page(String connection, String token, Map<String, Traffic> byId, CompletableFuture<Lookup> done) {
        sad.withDeadlineAfter(PAGE_DEADLINE_SECONDS, TimeUnit.SECONDS).listChildSas(ListChildSasRequest.newBuilder()
                .setConnection(connection).setPageSize(PAGE).setPageToken(token).build(),
                new StreamObserver<ListChildSasResponse>() {
                    @Override
                    public void onNext(ListChildSasResponse r) {
                        for (ChildSaRecord c : r.getChildSasList()) {
                            byId.put(c.getId(), new Traffic(c.getBytes(), c.getPackets(), c.getLastUsedAtMs()));
                        }
                        if (r.getNextPageToken().isEmpty()) {
                            done.complete((inboundSpi, inbound) -> {
                                ChildSaRecords.Ids pair = ids.apply(inboundSpi);
                                return byId.getOrDefault(inbound ? pair.inbound() : pair.outbound(), Traffic.NONE);
                            });
                        } else {
                            page(connection, r.getNextPageToken(), byId, done);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        done.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
    }
}
