package dev.keel.ike.service;

import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSa;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.UpdateChildSaRequest;
import dev.keel.proto.v1.UpdateChildSaResponse;
import dev.keel.rpc.Statuses;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CHILD SAs follow their IKE SA when the peer's NAT mapping changes (RFC 7296 §2.23: the IKE SA
 * moves to where the peer's protected requests come from; RFC 3948 §3.5, the ESP-in-UDP SAs
 * must send there too) or a MOBIKE peer moved it with UPDATE_SA_ADDRESSES (RFC 4555 §3.5, once
 * its new address passed the return routability check, §3.7): after an exchange that moved such
 * an IKE SA, the peer endpoint of each of its CHILD SAs' records is updated in the SAD
 * (UpdateChildSa), and the data plane's watch of the SAD points the outbound SA there.
 */
public final class ChildSaPeerFollower implements IkeEvents {

    private static final Logger LOG = LoggerFactory.getLogger(ChildSaPeerFollower.class);

    private final SaServiceGrpc.SaServiceStub stub;
    private final IntFunction<ChildSaRecords.Ids> childIds;
    /** The peer endpoint each CHILD SA's records hold, by inbound SPI. */
    private final Map<Integer, InetSocketAddress> peers = new ConcurrentHashMap<>();
    private final LongAdder updates = new LongAdder();
    private final LongAdder updateFailures = new LongAdder();

    /**
     * @param saService a channel to sad-service
     * @param childIds  the record ids of our CHILD SA with this inbound SPI ({@link SadChildInstaller#ids})
     */
    public ChildSaPeerFollower(Channel saService, IntFunction<ChildSaRecords.Ids> childIds) {
        this.stub = SaServiceGrpc.newStub(saService);
        this.childIds = childIds;
    }

    @Override
    public void childEstablished(IkeSa sa, ChildSa child) {
        peers.put(child.inboundSpi(), recordPeer(sa.endpoints().remote(), child)); // as ChildSaRecords wrote it
    }

    /** The peer endpoint a record of {@code child} holds when the peer's IKE endpoint is {@code remote}. */
    private static InetSocketAddress recordPeer(InetSocketAddress remote, ChildSa child) {
        // port 0 is raw ESP (sa.proto Endpoint); a CHILD SA keeps its encapsulation when its peer moves
        return child.encap() ? remote : new InetSocketAddress(remote.getAddress(), 0);
    }

    @Override
    public void childDeleted(IkeSa sa, ChildSa child) {
        peers.remove(child.inboundSpi());
    }

    @Override
    public CompletionStage<?> ikeSaChanged(IkeSa sa) {
        // §2.23: without MOBIKE only a peer behind a NAT is followed; RFC 4555 §3.7: a MOBIKE peer once its new
        // address answered the return routability check
        if (!(sa.mobike() || sa.endpoints().natThere()) || sa.endpoints().routabilityPending()) {
            return INSTALLED;
        }
        for (ChildSa c : sa.children()) {
            InetSocketAddress now = recordPeer(sa.endpoints().remote(), c);
            InetSocketAddress was = peers.get(c.inboundSpi());
            if (was != null && !was.equals(now)) {
                peers.put(c.inboundSpi(), now);
                LOG.info("{}: peer moved from {} to {}, CHILD SA {} follows", sa, was, now, c.name());
                ChildSaRecords.Ids ids = childIds.apply(c.inboundSpi());
                update(ids.outbound(), now);
                update(ids.inbound(), now);
            }
        }
        return INSTALLED; // the data plane follows when the SAD has it; the response need not wait
    }

    private void update(String id, InetSocketAddress peer) {
        UpdateChildSaRequest req = UpdateChildSaRequest.newBuilder().setId(id)
                .setPeer(CoreMapping.endpoint(peer.getAddress(), peer.getPort())).build();
        stub.withDeadlineAfter(10, TimeUnit.SECONDS).updateChildSa(req, new StreamObserver<>() {
            @Override
            public void onNext(UpdateChildSaResponse r) {
                updates.increment();
            }

            @Override
            public void onError(Throwable t) {
                updateFailures.increment();
                LOG.warn("CHILD SA {}: peer endpoint {} not updated in the SAD: {}", id, peer, Statuses.brief(t));
            }

            @Override
            public void onCompleted() {
            }
        });
    }

    /** Records whose peer endpoint was updated. */
    public long updates() {
        return updates.sum();
    }

    /** Updates the SAD refused or that failed. */
    public long updateFailures() {
        return updateFailures.sum();
    }
}
