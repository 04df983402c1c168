package dev.keel.sad;

import static dev.keel.sad.ClusterCalls.DIRECT;
import static dev.keel.sad.ClusterCalls.OFF_HAZELCAST_THREAD;
import static dev.keel.sad.ClusterCalls.join;

import com.google.protobuf.ByteString;
import com.hazelcast.map.IMap;
import com.hazelcast.query.Predicates;
import dev.keel.proto.v1.AllocateSpiRequest;
import dev.keel.proto.v1.ChildSaKeys;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.CheckpointReplayRequest;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.IkeSaKeys;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.InstallIkeSaRequest;
import dev.keel.proto.v1.LeaseSequenceRequest;
import dev.keel.proto.v1.LeaseSequenceResponse;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListChildSasResponse;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.proto.v1.ReportUsageRequest;
import dev.keel.proto.v1.UpdateChildSaRequest;
import dev.keel.proto.v1.WrappedChildKeys;
import dev.keel.proto.v1.WrappedIkeKeys;
import dev.keel.sad.cluster.SadCluster;
import dev.keel.sad.keys.ChildSaKeyMaterial;
import dev.keel.sad.keys.KeyVault;
import dev.keel.sad.keys.KeyWrap;
import dev.keel.sad.keys.RecordMac;
import dev.keel.sad.keys.TamperedRecordException;
import dev.keel.sad.store.CheckpointProcessor;
import dev.keel.sad.store.ChildSaFilter;
import dev.keel.sad.store.ClaimProcessor;
import dev.keel.sad.store.DeleteProcessor;
import dev.keel.sad.store.IkeUpsertProcessor;
import dev.keel.sad.store.InsertProcessor;
import dev.keel.sad.store.LeaseProcessor;
import dev.keel.sad.store.OpResult;
import dev.keel.sad.store.Records;
import dev.keel.sad.store.SpiBindProcessor;
import dev.keel.sad.store.UpdateProcessor;
import dev.keel.sad.store.UsageProcessor;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * The SA database's operations, independent of gRPC: what the service does with each request.
 * Refusals are {@link SadException}s; Hazelcast failures (cluster unavailable) pass through and
 * the gRPC layer maps them to UNAVAILABLE. A stored record is used only after its integrity check
 * ({@link RecordMac}; here for reads, in the entry processors for changes): one that fails is
 * DATA_LOSS, and left out of lists. Asynchronous cluster calls go through {@link ClusterCalls}.
 */
public final class SaDatabase {

    /** Attempts to find a free random SPI before giving up (2^32 space; only near-full fails). */
    static final int SPI_ATTEMPTS = 32;
    static final int MAX_PAGE = 1000;
    static final int DEFAULT_PAGE = 100;

    private final SadCluster cluster;
    private final KeyWrap wrap;
    private final KeyVault vault;
    private final ClusterCalls calls;
    private final SecureRandom random = new SecureRandom();

    public SaDatabase(SadCluster cluster, KeyWrap wrap) {
        this.cluster = cluster;
        this.wrap = wrap;
        this.vault = new KeyVault(wrap);
        this.calls = new ClusterCalls(cluster);
    }

    public SadCluster cluster() {
        return cluster;
    }

    public String nodeId() {
        return cluster.nodeId();
    }

    // --- SPIs -------------------------------------------------------------------------------

    /** Most SPIs one AllocateSpi reserves. */
    static final int MAX_SPIS_PER_CALL = 1024;

    /**
     * Reserves {@code count} (0: one) random inbound SPIs, unique across the cluster, never
     * 0..255, each until an inbound SA is installed with it or its reservation runs out.
     */
    public List<Integer> allocateSpis(AllocateSpiRequest req) {
        int seconds = req.getReservationSeconds();
        if (Integer.compareUnsigned(seconds, 3600) > 0) { // uint32
            throw SadException.invalid("reservation_seconds", Integer.toUnsignedString(seconds) + " exceeds 3600");
        }
        if (Integer.compareUnsigned(req.getCount(), MAX_SPIS_PER_CALL) > 0) {
            throw SadException.invalid("count", Integer.toUnsignedString(req.getCount()) + " exceeds "
                    + MAX_SPIS_PER_CALL);
        }
        if (seconds == 0) {
            seconds = cluster.config().spiReservationSeconds();
        }
        IMap<Integer, String> spis = cluster.spis();
        int count = Math.max(1, req.getCount());
        List<Integer> reserved = new ArrayList<>(count);
        // Every SPI of a call in flight at once: one round trip per call rather than one per SPI
        // (ike-service's pool ran dry under setup load while a batch of 256 went one at a time).
        // An SPI already taken is drawn again, up to SPI_ATTEMPTS rounds.
        for (int round = 0; round < SPI_ATTEMPTS && reserved.size() < count; round++) {
            int[] candidates = new int[count - reserved.size()];
            List<CompletableFuture<String>> answers = new ArrayList<>(candidates.length);
            for (int i = 0; i < candidates.length; i++) {
                candidates[i] = randomSpi();
                answers.add(calls.submit(spis, candidates[i], SpiBindProcessor.reserve(seconds)));
            }
            for (int i = 0; i < candidates.length; i++) {
                if (join(answers.get(i)) == null) {
                    reserved.add(candidates[i]);
                }
            }
        }
        if (reserved.size() < count) {
            throw new SadException(SadException.Kind.RESOURCE_EXHAUSTED,
                    "no free SPI found in " + SPI_ATTEMPTS + " random attempts");
        }
        return reserved;
    }

    /** A random SPI outside 0..255 (RFC 4303 §2.1: 1..255 reserved by IANA, 0 for local use). */
    private int randomSpi() {
        while (true) {
            int spi = random.nextInt();
            if (Integer.compareUnsigned(spi, 256) >= 0) {
                return spi;
            }
        }
    }

    // --- CHILD SAs --------------------------------------------------------------------------

    /**
     * Installs a CHILD SA: validation and key wrapping, then an inbound SA's SPI is bound and,
     * once that succeeded, the record is put if absent; each step is on the primary and its
     * synchronous backup before the next starts.
     */
    public ChildSaRecord installChildSa(InstallChildSaRequest req) {
        return join(installChildSaAsync(req));
    }

    /**
     * {@link #installChildSa} without holding the caller's thread: every refusal completes the
     * stage exceptionally; the cluster steps are asynchronous entry processors ({@link #installChildSas}).
     */
    public CompletionStage<ChildSaRecord> installChildSaAsync(InstallChildSaRequest req) {
        return installChildSas(List.of(req)).thenApply(o -> {
            InstallOutcome one = o.get(0);
            if (one.error() != null) {
                throw one.error();
            }
            return one.record();
        });
    }

    /** The outcome of one item of {@link #installChildSas}: the stored record (keys omitted) or the refusal. */
    public record InstallOutcome(ChildSaRecord record, RuntimeException error) implements ItemOutcome {}

    /**
     * Installs many CHILD SAs without holding a thread: validation and key wrapping per item on
     * the calling thread, then every item at once as asynchronous entry processors: an inbound
     * SA's SPI is bound ({@link SpiBindProcessor}) and, only once that is on the primary and its
     * synchronous backup, the record is put if absent ({@link InsertProcessor}); a record whose id
     * already existed releases the SPI it bound. Both processors are IdentifiedDataSerializable and
     * their backups carry exactly the bytes written. Items are independent: one item's refusal (the
     * status {@link #installChildSa} would have thrown) does not affect the others. Two items of one
     * batch with the same id or the same inbound SPI: the later one is refused ALREADY_EXISTS.
     *
     * <p>Why not {@code executeOnKeys} with one operation per member: Hazelcast sends every
     * partition's operation (and its backup) the whole key set and each partition skips the keys of
     * the others, so a batch costs keys x partitions; measured slower than one operation per key.
     */
    public CompletionStage<List<InstallOutcome>> installChildSas(List<InstallChildSaRequest> reqs) {
        int n = reqs.size();
        InstallOutcome[] out = new InstallOutcome[n];
        Map<String, Integer> byId = new HashMap<>(n * 2);
        Map<Integer, String> bySpi = new HashMap<>(n * 2);
        List<CompletableFuture<Void>> pending = new ArrayList<>(n);
        Map<String, String> nodeToMember = new HashMap<>();
        for (Map.Entry<String, String> m : cluster.liveMembers().entrySet()) {
            nodeToMember.putIfAbsent(m.getValue(), m.getKey()); // oldest first, as memberOf
        }
        for (int i = 0; i < n; i++) {
            Prepared p;
            try {
                p = prepare(reqs.get(i), nodeToMember);
            } catch (RuntimeException e) {
                out[i] = new InstallOutcome(null, e);
                continue;
            }
            ChildSaRecord r = p.stored();
            Integer sameId = byId.putIfAbsent(r.getId(), i);
            if (sameId != null) {
                out[i] = new InstallOutcome(null, new SadException(SadException.Kind.ALREADY_EXISTS,
                        "child_sa.id: child SA " + r.getId() + " is also items[" + sameId + "] of this batch"));
                continue;
            }
            boolean inbound = r.getDirection() == Direction.DIRECTION_INBOUND;
            if (inbound) {
                String sameSpi = bySpi.putIfAbsent(r.getSpi(), r.getId());
                if (sameSpi != null) {
                    out[i] = new InstallOutcome(null, new SadException(SadException.Kind.ALREADY_EXISTS,
                            "child_sa.spi: " + spiText(r.getSpi()) + " is bound to child SA " + sameSpi));
                    continue;
                }
            }
            int index = i;
            CompletionStage<Void> one = inbound
                    ? calls.<String>submit(cluster.spis(), r.getSpi(), new SpiBindProcessor(r.getId())).thenComposeAsync(holder -> {
                        if (holder != null) {
                            out[index] = new InstallOutcome(null, new SadException(SadException.Kind.ALREADY_EXISTS,
                                    "child_sa.spi: " + spiText(r.getSpi()) + " is bound to child SA " + holder));
                            return CompletableFuture.completedFuture(null);
                        }
                        return insert(p, index, out);
                    }, OFF_HAZELCAST_THREAD)
                    : insert(p, index, out);
            pending.add(one.toCompletableFuture().exceptionally(t -> {
                out[index] = new InstallOutcome(null, itemFailure(t));
                return null;
            }));
        }
        // The batch completes off Hazelcast's threads: a caller's continuation (a gRPC reply of
        // many items) must not hold a partition or response thread; one hop per batch.
        return CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new))
                .thenApplyAsync(v -> Arrays.asList(out), OFF_HAZELCAST_THREAD);
    }

    /**
     * Step 2 of an install: the record, put if absent; an inbound SA that lost releases its SPI.
     * The common outcome (inserted) is recorded where the put completed, without a thread hop;
     * only a release, which starts another cluster operation, moves off a Hazelcast thread.
     */
    private CompletionStage<Void> insert(Prepared p, int index, InstallOutcome[] out) {
        ChildSaRecord r = p.stored();
        String id = r.getId();
        return calls.<Boolean>submit(cluster.childSas(), id, new InsertProcessor(p.sealed())).thenCompose(existed -> {
            if (existed == null) {
                out[index] = new InstallOutcome(p.keyless(), null);
                return CompletableFuture.completedFuture(null);
            }
            out[index] = new InstallOutcome(null, new SadException(SadException.Kind.ALREADY_EXISTS,
                    "child_sa.id: child SA " + id + " already exists"));
            if (r.getDirection() != Direction.DIRECTION_INBOUND) {
                return CompletableFuture.completedFuture(null);
            }
            return CompletableFuture.completedFuture(null).thenComposeAsync(
                    x -> calls.submit(cluster.spis(), r.getSpi(), SpiBindProcessor.release(id)).thenApply(y -> null),
                    OFF_HAZELCAST_THREAD);
        });
    }

    /**
     * A validated install: the record to store (keys wrapped), its bytes with the integrity tag,
     * and the same record without keys (the reply).
     */
    private record Prepared(ChildSaRecord stored, byte[] sealed, ChildSaRecord keyless) {}

    /**
     * Validates a request and builds its record. One builder gives both the keyless record (the
     * reply) and, with the wrapped keys set, the stored one: the second build shares every field
     * of the first instead of copying the whole record again ({@link Records#withoutKeys}).
     */
    private Prepared prepare(InstallChildSaRequest req, Map<String, String> nodeToMember) {
        if (!req.hasChildSa()) {
            throw SadException.invalid("child_sa", "is required");
        }
        Validation.childSa(req.getChildSa(), req.getKeys());
        Validation.optionalNode("owner_node_id", req.getOwnerNodeId());
        String ownerNode = req.getOwnerNodeId().isEmpty() ? cluster.nodeId() : req.getOwnerNodeId();
        String ownerMember = nodeToMember.get(ownerNode);
        if (ownerMember == null) {
            throw SadException.precondition("owner_node_id: node '" + ownerNode + "' is not a cluster member");
        }
        ChildSaRecord in = req.getChildSa();
        String id = in.getId().isEmpty() ? newId() : in.getId();
        long now = System.currentTimeMillis();
        WrappedChildKeys wrapped = wrapChildKeys(req.getKeys());
        ChildSaRecord.Builder b = in.toBuilder()
                .setId(id)
                .clearKeys()
                .clearRecordTag()
                .setCreatedAtMs(now)
                .setUpdatedAtMs(now)
                .setOwnerNodeId(ownerNode)
                .setOwnerMember(ownerMember)
                .setOwnerEpoch(1)
                .setOwnerReason(OwnershipReason.OWNERSHIP_REASON_UNSPECIFIED)
                .setLeaseHighWater(1)
                .setReplayCheckpoint(0)
                .setReplayFloor(0)
                .setReplayMargin(cluster.config().replayInitialMargin())
                .setState(ChildSaState.CHILD_SA_STATE_ACTIVE)
                .setGeneration(1)
                .setBytes(0)
                .setPackets(0)
                .clearSoftExpiry()
                .clearHardExpiry()
                .setDeletedAtMs(0);
        ChildSaRecord keyless = b.build();
        ChildSaRecord stored = b.setKeys(wrapped).build();
        return new Prepared(stored, cluster.recordMac().seal(RecordMac.Scope.CHILD_SA, id, stored), keyless);
    }

    private WrappedChildKeys wrapChildKeys(ChildSaKeys keys) {
        byte[] enc = keys.getEncryption().toByteArray();
        byte[] integ = keys.getIntegrity().toByteArray();
        try {
            return WrappedChildKeys.newBuilder()
                    .setEncryption(ByteString.copyFrom(wrap.wrap(enc)))
                    .setIntegrity(ByteString.copyFrom(wrap.wrap(integ)))
                    .setKekId(wrap.kekId())
                    .build();
        } finally {
            Arrays.fill(enc, (byte) 0);
            Arrays.fill(integ, (byte) 0);
        }
    }

    public ChildSaRecord updateChildSa(UpdateChildSaRequest req) {
        Validation.update(req);
        byte[] r = cluster.childSas().executeOnKey(req.getId(), new UpdateProcessor(req, System.currentTimeMillis()))
                .orThrow();
        return Records.withoutKeys(Records.parseChild(r));
    }

    /**
     * Deletes a CHILD SA (tombstone) and zeroizes keys held here. An inbound SA's SPI stays bound
     * to it until its tombstone is purged ({@link #spiRetirementSeconds}): the IKE service names
     * records by their SPI, so an SPI handed out again while the tombstone lives would make the
     * next SA with it fail to install (ALREADY_EXISTS), found by the soak's CHILD SA rekeys.
     */
    public ChildSaRecord deleteChildSa(String id) {
        Validation.id("id", id);
        ChildSaRecord t = Records.parseChild(cluster.childSas().executeOnKey(id,
                new DeleteProcessor(System.currentTimeMillis(), cluster.recordMac().kekId())).orThrow());
        vault.evict(id);
        if (t.getDirection() == Direction.DIRECTION_INBOUND) {
            cluster.spis().executeOnKey(t.getSpi(), SpiBindProcessor.retire(id, spiRetirementSeconds()));
        }
        return t;
    }

    /**
     * How long a deleted SA's SPI stays bound: the tombstone's retention and two maintenance
     * periods, by when the oldest member's pass has purged the tombstone.
     */
    int spiRetirementSeconds() {
        long ms = cluster.config().tombstoneRetentionSeconds() * 1000L + 2 * cluster.config().maintenanceIntervalMillis();
        return (int) Math.max(1, (ms + 999) / 1000);
    }

    public ChildSaRecord getChildSa(String id, boolean includeWrappedKeys) {
        Validation.id("id", id);
        byte[] v = cluster.childSas().get(id);
        if (v == null) {
            throw SadException.notFound("child SA " + id + " does not exist");
        }
        ChildSaRecord r;
        try {
            r = Records.verifiedChild(id, v);
        } catch (TamperedRecordException e) {
            throw new SadException(SadException.Kind.DATA_LOSS, e.getMessage());
        }
        return includeWrappedKeys ? r : Records.withoutKeys(r);
    }

    public ListChildSasResponse listChildSas(ListChildSasRequest req) {
        int size = req.getPageSize() == 0 ? DEFAULT_PAGE : req.getPageSize();
        if (Integer.compareUnsigned(size, MAX_PAGE) > 0) { // uint32: from 2^31 on a negative int
            throw SadException.invalid("page_size", Integer.toUnsignedString(req.getPageSize()) + " exceeds "
                    + MAX_PAGE);
        }
        String after = decodeToken(req.getPageToken());
        if (!req.getPeerAddress().isEmpty()) {
            Validation.address("peer_address", req.getPeerAddress());
        }
        Validation.optionalNode("owner_node_id", req.getOwnerNodeId());
        ChildSaFilter filter = new ChildSaFilter(after, req.getConnection(), req.getPeerAddress().toByteArray(),
                req.getOwnerNodeId(), req.getIncludeDeleted());
        var paging = Predicates.pagingPredicate(filter, new ChildSaFilter.ById(), size);
        List<Map.Entry<String, byte[]>> page = new ArrayList<>(cluster.childSas().entrySet(paging));
        ListChildSasResponse.Builder out = ListChildSasResponse.newBuilder();
        for (Map.Entry<String, byte[]> e : page) {
            if (RecordMac.isValid(RecordMac.Scope.CHILD_SA, e.getKey(), e.getValue())) { // else counted and logged
                out.addChildSas(Records.withoutKeys(Records.parseChild(e.getValue())));
            }
        }
        if (page.size() == size) {
            out.setNextPageToken(Base64.getUrlEncoder().withoutPadding()
                    .encodeToString(page.get(page.size() - 1).getKey().getBytes(StandardCharsets.UTF_8)));
        }
        return out.build();
    }

    private static String decodeToken(String token) {
        if (token.isEmpty()) {
            return "";
        }
        try {
            String id = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
            Validation.id("page_token", id);
            return id;
        } catch (IllegalArgumentException | SadException e) {
            throw SadException.invalid("page_token", "not a token from ListChildSas");
        }
    }

    // --- counters (asynchronous: no thread waits for the cluster) -----------------------------

    /**
     * Grants the next block of an outbound SA's sequence numbers. Two guards keep a split from
     * handing out the same numbers on both sides (docs/sad.md, "Split brain"): no lease without
     * the lease quorum in this member's view, and no lease whose grant took the backup timeout or
     * longer, because Hazelcast completes such a call with the primary's result even when the
     * backup never acknowledged it (the primary may be on the losing side of a split). A refused
     * grant's numbers are skipped, never handed out.
     */
    public CompletionStage<LeaseSequenceResponse> leaseSequence(LeaseSequenceRequest req) {
        Validation.id("sa_id", req.getSaId());
        if (req.getCount() < 1 || req.getCount() > LeaseProcessor.MAX_COUNT) {
            throw SadException.invalid("count", req.getCount() + " is not in 1.." + LeaseProcessor.MAX_COUNT);
        }
        Validation.optionalNode("node_id", req.getNodeId());
        requireLeaseQuorum();
        String node = req.getNodeId().isEmpty() ? cluster.nodeId() : req.getNodeId();
        long t0 = System.nanoTime();
        return cluster.childSas().submitToKey(req.getSaId(), new LeaseProcessor(node, req.getCount()))
                .thenApplyAsync(r -> {
                    r.orThrow();
                    long tookMillis = (System.nanoTime() - t0) / 1_000_000;
                    if (tookMillis >= SadCluster.BACKUP_TIMEOUT_MILLIS) {
                        throw new SadException(SadException.Kind.UNAVAILABLE, "lease on child SA " + req.getSaId()
                                + " took " + tookMillis + " ms, so its backup may not hold it; numbers skipped, retry");
                    }
                    requireLeaseQuorum();
                    return LeaseSequenceResponse.newBuilder().setStart(r.a()).setEnd(r.b()).setOwnerEpoch(r.c()).build();
                }, DIRECT);
    }

    private void requireLeaseQuorum() {
        if (!cluster.hasLeaseQuorum()) {
            throw new SadException(SadException.Kind.UNAVAILABLE, "no lease quorum: this member sees "
                    + cluster.memberCount() + " of the " + cluster.config().leaseQuorum()
                    + " members needed to grant sequence numbers (split brain protection)");
        }
    }

    /** The outcome of one item of {@link #checkpointReplays}: the stored pair after it, or the refusal. */
    public record CheckpointOutcome(long checkpoint, long margin, RuntimeException error) implements ItemOutcome {}

    /** One item's outcome in a batch call: its refusal, or null when it was applied. */
    public interface ItemOutcome {
        RuntimeException error();
    }

    /** A batch item's asynchronous failure as the exception that says why (not its completion wrapper). */
    private static RuntimeException itemFailure(Throwable t) {
        return t instanceof CompletionException && t.getCause() instanceof RuntimeException re ? re
                : t instanceof RuntimeException re ? re : new CompletionException(t);
    }

    /**
     * Records many inbound SAs' replay checkpoints without holding a thread: each item validated on
     * the calling thread, then all at once as asynchronous entry processors ({@link
     * CheckpointProcessor}, one per key: not {@code executeOnKeys}, for the reason given at {@link
     * #installChildSas}). Items are independent: one item's refusal (an SA deleted meanwhile, or
     * another node's) leaves the others applied. A second item for the same SA is refused, so
     * one batch never races two pairs of one SA (docs/ha.md, rule 3). Completes with one outcome
     * per item, in order, off Hazelcast's threads.
     */
    public CompletionStage<List<CheckpointOutcome>> checkpointReplays(List<CheckpointReplayRequest> reqs) {
        int n = reqs.size();
        CheckpointOutcome[] out = new CheckpointOutcome[n];
        Map<String, Integer> byId = new HashMap<>(n * 2);
        List<CompletableFuture<Void>> pending = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            CheckpointReplayRequest req = reqs.get(i);
            try {
                Validation.id("sa_id", req.getSaId());
                Validation.optionalNode("node_id", req.getNodeId());
                Validation.replayMargin("margin", req.getMargin());
            } catch (RuntimeException e) {
                out[i] = new CheckpointOutcome(0, 0, e);
                continue;
            }
            Integer same = byId.putIfAbsent(req.getSaId(), i);
            if (same != null) {
                out[i] = new CheckpointOutcome(0, 0, SadException.invalid("sa_id", "child SA " + req.getSaId()
                        + " is also items[" + same + "] of this batch"));
                continue;
            }
            String node = req.getNodeId().isEmpty() ? cluster.nodeId() : req.getNodeId();
            int index = i;
            pending.add(calls.<OpResult>submit(cluster.childSas(), req.getSaId(),
                    new CheckpointProcessor(node, req.getRightEdge(), req.getMargin())).handle((r, t) -> {
                        if (t != null) {
                            out[index] = new CheckpointOutcome(0, 0, itemFailure(t));
                        } else if (r.refusal() != null) {
                            out[index] = new CheckpointOutcome(0, 0, new SadException(r.refusal(), r.message()));
                        } else {
                            out[index] = new CheckpointOutcome(r.a(), r.b(), null);
                        }
                        return null;
                    }));
        }
        // One hop off Hazelcast's threads per batch, as installChildSas.
        return CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new))
                .thenApplyAsync(v -> Arrays.asList(out), OFF_HAZELCAST_THREAD);
    }

    public CompletionStage<ChildSaRecord> reportUsage(ReportUsageRequest req) {
        Validation.id("sa_id", req.getSaId());
        Validation.optionalNode("node_id", req.getNodeId());
        String node = req.getNodeId().isEmpty() ? cluster.nodeId() : req.getNodeId();
        return cluster.childSas().submitToKey(req.getSaId(),
                        new UsageProcessor(node, req.getBytes(), req.getPackets(), System.currentTimeMillis()))
                .thenApplyAsync(r -> Records.withoutKeys(Records.parseChild(r.orThrow())), DIRECT);
    }

    public ChildSaRecord claimOwnership(ClaimOwnershipRequest req) {
        Validation.id("sa_id", req.getSaId());
        Validation.optionalNode("node_id", req.getNodeId());
        Validation.optionalNode("expected_owner_node_id", req.getExpectedOwnerNodeId());
        String node = req.getNodeId().isEmpty() ? cluster.nodeId() : req.getNodeId();
        Map<String, String> live = cluster.liveMembers();
        String member = cluster.memberOf(node);
        if (member == null) {
            throw SadException.precondition("node_id: node '" + node + "' is not a cluster member");
        }
        byte[] r = cluster.childSas().executeOnKey(req.getSaId(), new ClaimProcessor(node, member,
                req.getExpectedOwnerNodeId(), live.keySet(), System.currentTimeMillis())).orThrow();
        ChildSaRecord rec = Records.parseChild(r);
        if (!rec.getOwnerNodeId().equals(cluster.nodeId())) {
            vault.evict(rec.getId());
        }
        return Records.withoutKeys(rec);
    }

    /**
     * The unwrapped keys of an SA this node owns, for a data plane in this process (the gateway).
     * Zeroized when the SA is deleted or moves away ({@link #forgetKeys}).
     */
    public ChildSaKeyMaterial childKeys(String id) {
        ChildSaRecord r = getChildSa(id, true);
        if (!r.getOwnerNodeId().equals(cluster.nodeId())) {
            throw SadException.precondition("child SA " + id + " is owned by node '" + r.getOwnerNodeId()
                    + "'; only the owner unwraps its keys");
        }
        if (!Records.isLive(r)) {
            throw SadException.precondition("child SA " + id + " is deleted");
        }
        return vault.childKeys(r);
    }

    /** Zeroizes keys held for an SA (called on delete and on ownership moving away). */
    public void forgetKeys(String id) {
        vault.evict(id);
    }

    // --- IKE SAs ----------------------------------------------------------------------------

    /**
     * Creates or replaces an IKE SA record (the IKE service's write after each exchange): validated
     * and its keys wrapped here, stored by {@link IkeUpsertProcessor} on the key's partition without a
     * thread waiting for the cluster. Completes with the stored record without keys.
     */
    public CompletionStage<IkeSaRecord> installIkeSaAsync(InstallIkeSaRequest req) {
        if (!req.hasIkeSa()) {
            throw SadException.invalid("ike_sa", "is required");
        }
        Validation.ikeSa(req.getIkeSa());
        String ownerNode = req.getIkeSa().getOwnerNodeId().isEmpty() ? cluster.nodeId() : req.getIkeSa().getOwnerNodeId();
        String ownerMember = cluster.memberOf(ownerNode);
        if (ownerMember == null) {
            throw SadException.precondition("ike_sa.owner_node_id: node '" + ownerNode + "' is not a cluster member");
        }
        IkeSaRecord.Builder b = req.getIkeSa().toBuilder()
                .setOwnerNodeId(ownerNode)
                .setOwnerMember(ownerMember)
                .clearKeys()
                .clearRecordTag();
        if (req.hasKeys()) {
            b.setKeys(wrapIkeKeys(req.getKeys()));
        }
        return cluster.ikeSas().submitToKey(b.getId(), new IkeUpsertProcessor(b.build(), System.currentTimeMillis(),
                        cluster.recordMac().kekId()))
                .thenApplyAsync(r -> Records.withoutKeys(Records.parseIke(r.orThrow())), DIRECT);
    }

    /** {@link #installIkeSaAsync}, waiting for it. */
    public IkeSaRecord installIkeSa(InstallIkeSaRequest req) {
        return join(installIkeSaAsync(req));
    }

    private WrappedIkeKeys wrapIkeKeys(IkeSaKeys k) {
        return WrappedIkeKeys.newBuilder()
                .setSkD(wrapped(k.getSkD()))
                .setSkAi(wrapped(k.getSkAi()))
                .setSkAr(wrapped(k.getSkAr()))
                .setSkEi(wrapped(k.getSkEi()))
                .setSkEr(wrapped(k.getSkEr()))
                .setSkPi(wrapped(k.getSkPi()))
                .setSkPr(wrapped(k.getSkPr()))
                .setKekId(wrap.kekId())
                .build();
    }

    private ByteString wrapped(ByteString plain) {
        byte[] p = plain.toByteArray();
        try {
            return ByteString.copyFrom(wrap.wrap(p));
        } finally {
            Arrays.fill(p, (byte) 0);
        }
    }

    public void deleteIkeSa(String id) {
        Validation.id("id", id);
        if (cluster.ikeSas().remove(id) == null) {
            throw SadException.notFound("IKE SA " + id + " does not exist");
        }
    }

    public IkeSaRecord getIkeSa(String id, boolean includeWrappedKeys) {
        Validation.id("id", id);
        byte[] v = cluster.ikeSas().get(id);
        if (v == null) {
            throw SadException.notFound("IKE SA " + id + " does not exist");
        }
        IkeSaRecord r;
        try {
            r = Records.verifiedIke(id, v);
        } catch (TamperedRecordException e) {
            throw new SadException(SadException.Kind.DATA_LOSS, e.getMessage());
        }
        return includeWrappedKeys ? r : Records.withoutKeys(r);
    }

    // --- helpers ----------------------------------------------------------------------------

    private String newId() {
        byte[] b = new byte[8];
        random.nextBytes(b);
        return "sa-" + HexFormat.of().formatHex(b);
    }

    static String spiText(int spi) {
        return String.format("SPI 0x%08x", spi);
    }
}
