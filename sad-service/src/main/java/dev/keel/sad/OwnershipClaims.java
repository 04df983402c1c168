package dev.keel.sad;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.sad.cluster.SadCluster;
import dev.keel.sad.store.IkeClaimProcessor;
import dev.keel.sad.store.Records;
import dev.keel.sad.store.SpiBindProcessor;

/**
 * What a gateway needs to claim the SAs whose packets reach it (docs/ha.md, "Packets at the node
 * that does not own their SA"), next to {@link SaDatabase#claimOwnership} for a CHILD SA: the
 * inbound CHILD SA an SPI is bound to, and ClaimOwnership of an IKE SA record.
 */
public final class OwnershipClaims {

    private final SaDatabase db;

    public OwnershipClaims(SaDatabase db) {
        this.db = db;
    }

    /**
     * The inbound CHILD SA bound to {@code spi} (GetChildSa with {@code inbound_spi}): two reads,
     * the SPI map's binding and the record. NOT_FOUND when the SPI is free, only reserved, or
     * bound to a deleted SA (whose SPI stays bound until its tombstone is purged).
     */
    public ChildSaRecord childByInboundSpi(GetChildSaRequest req) {
        if (!req.getId().isEmpty()) {
            throw SadException.invalid("inbound_spi", "set id or inbound_spi, not both");
        }
        int spi = req.getInboundSpi();
        String id = db.cluster().spis().get(spi);
        if (id == null || id.equals(SpiBindProcessor.RESERVED)) {
            throw SadException.notFound(SaDatabase.spiText(spi) + " is not bound to an inbound CHILD SA");
        }
        ChildSaRecord r = db.getChildSa(id, req.getIncludeWrappedKeys());
        if (r.getDirection() != Direction.DIRECTION_INBOUND || r.getSpi() != spi || !Records.isLive(r)) {
            throw SadException.notFound(SaDatabase.spiText(spi) + " is not bound to an inbound CHILD SA");
        }
        return r;
    }

    /**
     * ClaimOwnership of the IKE SA record {@code ike_sa_id}, by the CHILD SA rule
     * ({@link IkeClaimProcessor}); completes with the record after the claim, without keys.
     */
    public IkeSaRecord claimIkeSa(ClaimOwnershipRequest req) {
        if (!req.getSaId().isEmpty()) {
            throw SadException.invalid("ike_sa_id", "set sa_id or ike_sa_id, not both");
        }
        Validation.id("ike_sa_id", req.getIkeSaId());
        Validation.optionalNode("node_id", req.getNodeId());
        Validation.optionalNode("expected_owner_node_id", req.getExpectedOwnerNodeId());
        SadCluster cluster = db.cluster();
        String node = req.getNodeId().isEmpty() ? cluster.nodeId() : req.getNodeId();
        String member = cluster.memberOf(node);
        if (member == null) {
            throw SadException.precondition("node_id: node '" + node + "' is not a cluster member");
        }
        byte[] r = cluster.ikeSas().executeOnKey(req.getIkeSaId(), new IkeClaimProcessor(node, member,
                req.getExpectedOwnerNodeId(), cluster.liveMembers().keySet(), System.currentTimeMillis())).orThrow();
        return Records.withoutKeys(Records.parseIke(r));
    }
}
