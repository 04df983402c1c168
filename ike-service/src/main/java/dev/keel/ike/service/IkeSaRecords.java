package dev.keel.ike.service;

import com.google.protobuf.ByteString;
import dev.keel.core.net.IpAddress;
import dev.keel.core.proposal.EncryptionAlgorithm;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import dev.keel.ike.crypto.ChildSaKeys;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSaSnapshot;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.CoreMapping;
import java.util.concurrent.TimeUnit;
import io.grpc.StatusRuntimeException;
import io.grpc.Status;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.GetIkeSaRequest;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.IkeSaChild;
import dev.keel.proto.v1.IkeSaKeys;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.InstallIkeSaRequest;
import dev.keel.proto.v1.WrappedIkeKeys;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * An IKE SA as sad-service stores it (sa.proto IkeSaRecord) and back (docs/ha.md, "IKE SA
 * failover"): the record the owner writes after every exchange, and the snapshot another node
 * takes the IKE SA over from, with its CHILD SAs read from their own records.
 */
public final class IkeSaRecords {

    private IkeSaRecords() {
    }

    /** Unwraps a key sad-service wrapped under the cluster KEK (RFC 5649); only the owner holds the KEK. */
    @FunctionalInterface
    public interface KeyUnwrap {
        /** The plaintext key of {@code wrapped} under the KEK with id {@code kekId}; throws when it does not unwrap. */
        byte[] unwrap(byte[] wrapped, int kekId);
    }

    /** The IKE SA's record id: both SPIs, as strongSwan prints them. */
    public static String id(long spiI, long spiR) {
        return String.format("ike-%016x-%016x", spiI, spiR);
    }

    /**
     * The upsert of snapshot {@code s}: its record, and its plaintext keys when {@code withKeys}
     * (the first write; sad-service keeps the stored ones otherwise).
     *
     * @param local our IKE address (the port is the snapshot's)
     * @param owner      owner node id; empty for the serving node
     * @param ikeService the ike-service running it apart from the data plane (its node id); empty in the gateway
     * @param ids        the record ids of our CHILD SA with this inbound SPI
     */
    public static InstallIkeSaRequest request(IkeSaSnapshot s, IpAddress local, String owner, String ikeService,
            boolean withKeys, IntFunction<ChildSaRecords.Ids> ids) {
        Proposal p = s.proposal();
        IkeSuite suite = IkeSuite.from(p);
        IkeSaRecord.Builder r = IkeSaRecord.newBuilder()
                .setId(id(s.spiI(), s.spiR()))
                .setConnection(s.connection())
                .setInitiatorSpi(s.spiI())
                .setResponderSpi(s.spiR())
                .setInitiator(s.originalInitiator())
                .setLocal(Endpoint.newBuilder().setAddress(ByteString.copyFrom(local.bytes())).setPort(s.localPort()))
                .setPeer(CoreMapping.endpoint(s.remote().getAddress(), s.remote().getPort()))
                .setEncryptionTransform(suite.encryption().transform().id())
                .setEncryptionKeyLength(suite.encryption().keyBytes())
                .setIntegrityTransform(suite.integrity().id())
                .setPrfTransform(suite.prf().id())
                .setKeyExchangeTransform(suite.keyExchange().id())
                .setNextRequestMessageId((int) s.nextRequestId())
                .setNextExpectedMessageId((int) s.expectedRequestId())
                .setNatLocal(s.natHere())
                .setNatRemote(s.natThere())
                .setOwnerNodeId(owner)
                .setIkeService(ikeService)
                .setRequestInFlight(s.requestInFlight())
                .setInFlightRekeyedChildSpi(s.inFlightRekeyedChild())
                .setInFlightNewChildSpi(s.inFlightNewChild())
                .setPeerMessageIdSync(s.peerMessageIdSync())
                .setMobike(s.mobike())
                .setReplaced(s.replaced())
                .setDeleting(s.deleting());
        if (s.lastResponse() != null) {
            r.setLastResponse(ByteString.copyFrom(s.lastResponse())).setLastResponseMessageId((int) s.lastResponseId());
        }
        if (s.predecessorSpiI() != 0) {
            r.setRekeyedFrom(id(s.predecessorSpiI(), s.predecessorSpiR()));
        }
        for (IkeSaSnapshot.Child c : s.children()) {
            ChildSaRecords.Ids childIds = ids.apply(c.child().inboundSpi());
            r.addChildren(IkeSaChild.newBuilder().setName(c.child().name()).setInboundSaId(childIds.inbound())
                    .setOutboundSaId(childIds.outbound()).setInitiator(c.child().initiator()).setReplaced(c.replaced())
                    .setRekeyAtMs(c.rekeyAtMillis()).setExpireAtMs(c.expireAtMillis()));
        }
        InstallIkeSaRequest.Builder req = InstallIkeSaRequest.newBuilder().setIkeSa(r);
        if (withKeys) {
            req.setKeys(keys(s.keys()));
        }
        return req.build();
    }

    private static IkeSaKeys keys(dev.keel.ike.crypto.IkeSaKeys k) {
        byte[][] all = {k.skD(), k.skAi(), k.skAr(), k.skEi(), k.skEr(), k.skPi(), k.skPr()};
        try {
            return IkeSaKeys.newBuilder().setSkD(ByteString.copyFrom(all[0])).setSkAi(ByteString.copyFrom(all[1]))
                    .setSkAr(ByteString.copyFrom(all[2])).setSkEi(ByteString.copyFrom(all[3]))
                    .setSkEr(ByteString.copyFrom(all[4])).setSkPi(ByteString.copyFrom(all[5]))
                    .setSkPr(ByteString.copyFrom(all[6])).build();
        } finally {
            for (byte[] a : all) {
                Arrays.fill(a, (byte) 0);
            }
        }
    }

    /**
     * The snapshot of stored IKE SA {@code r} (with its wrapped keys) for a node that takes it
     * over, its CHILD SAs made from their records ({@code childRecords}: for each of {@code r}'s
     * children its inbound and outbound record, or nulls when one is missing or deleted, and then
     * the child is left out: IKE cannot carry on a CHILD SA the data plane does not have).
     *
     * @throws IllegalArgumentException for a record that does not describe a usable IKE SA
     */
    public static IkeSaSnapshot snapshot(IkeSaRecord r, List<ChildSaRecord[]> childRecords, KeyUnwrap unwrap) {
        if (!r.hasKeys()) {
            throw new IllegalArgumentException("IKE SA " + r.getId() + ": the record has no keys");
        }
        List<IkeSaSnapshot.Child> children = new ArrayList<>();
        for (int i = 0; i < r.getChildrenCount(); i++) {
            IkeSaChild c = r.getChildren(i);
            ChildSaRecord[] pair = childRecords.get(i);
            if (pair == null || pair[0] == null || pair[1] == null) {
                continue;
            }
            children.add(new IkeSaSnapshot.Child(child(c, pair[0], pair[1]), c.getReplaced(), c.getRekeyAtMs(),
                    c.getExpireAtMs(), pair[0].getCreatedAtMs()));
        }
        WrappedIkeKeys w = r.getKeys();
        int kek = w.getKekId();
        byte[][] plain = {unwrap.unwrap(w.getSkD().toByteArray(), kek), unwrap.unwrap(w.getSkAi().toByteArray(), kek),
            unwrap.unwrap(w.getSkAr().toByteArray(), kek), unwrap.unwrap(w.getSkEi().toByteArray(), kek),
            unwrap.unwrap(w.getSkEr().toByteArray(), kek), unwrap.unwrap(w.getSkPi().toByteArray(), kek),
            unwrap.unwrap(w.getSkPr().toByteArray(), kek)};
        dev.keel.ike.crypto.IkeSaKeys keys;
        try {
            keys = dev.keel.ike.crypto.IkeSaKeys.of(plain[0], plain[1], plain[2], plain[3], plain[4], plain[5],
                    plain[6]);
        } finally {
            for (byte[] a : plain) {
                Arrays.fill(a, (byte) 0);
            }
        }
        long[] predecessor = r.getRekeyedFrom().isEmpty() ? new long[2] : spis(r.getRekeyedFrom());
        byte[] last = r.getLastResponse().isEmpty() ? null : r.getLastResponse().toByteArray();
        return new IkeSaSnapshot(r.getConnection(), r.getInitiator(), r.getInitiatorSpi(), r.getResponderSpi(),
                CoreMapping.endpoint(r.getPeer(), "peer"), r.getLocal().getPort(), r.getNatLocal(), r.getNatRemote(), ikeProposal(r), keys,
                Integer.toUnsignedLong(r.getNextRequestMessageId()), Integer.toUnsignedLong(r.getNextExpectedMessageId()),
                r.getRequestInFlight(), r.getInFlightRekeyedChildSpi(), r.getInFlightNewChildSpi(),
                last == null ? -1 : Integer.toUnsignedLong(r.getLastResponseMessageId()), last, r.getPeerMessageIdSync(),
                r.getMobike(), children, r.getReplaced(), r.getDeleting(), predecessor[0], predecessor[1], r.getCreatedAtMs());
    }

    /** The SPIs in record id {@code id} ({@link #id}). */
    static long[] spis(String id) {
        String[] parts = id.split("-");
        if (parts.length != 3 || !parts[0].equals("ike")) {
            throw new IllegalArgumentException("not an IKE SA record id: " + id);
        }
        return new long[] {Long.parseUnsignedLong(parts[1], 16), Long.parseUnsignedLong(parts[2], 16)};
    }

    private static Proposal ikeProposal(IkeSaRecord r) {
        EncryptionTransform enc = known(EncryptionTransform.byId(r.getEncryptionTransform()), "encryption", r);
        Proposal.Builder b = Proposal.builder(Protocol.IKE)
                .encryption(enc.hasVariableKeyLength() ? EncryptionAlgorithm.of(enc, r.getEncryptionKeyLength() * 8)
                        : EncryptionAlgorithm.of(enc));
        IntegrityTransform integ = known(IntegrityTransform.byId(r.getIntegrityTransform()), "integrity", r);
        if (integ != IntegrityTransform.NONE) {
            b.integrity(integ);
        }
        b.prf(known(PrfTransform.byId(r.getPrfTransform()), "PRF", r));
        b.keyExchange(known(KeyExchangeTransform.byId(r.getKeyExchangeTransform()), "key exchange", r));
        return b.build();
    }

    private static <T> T known(T t, String what, IkeSaRecord r) {
        if (t == null) {
            throw new IllegalArgumentException("IKE SA " + r.getId() + ": unknown " + what + " transform");
        }
        return t;
    }

    /** A CHILD SA pair from its two records, without keys (ChildSaRecords' conversion, backwards). */
    static ChildSa child(IkeSaChild c, ChildSaRecord in, ChildSaRecord out) {
        boolean ah = in.getProtocol() == dev.keel.proto.v1.IpsecProtocol.IPSEC_PROTOCOL_AH;
        EncryptionTransform enc = EncryptionTransform.byId(in.getEncryptionTransform());
        if (enc == null && !ah) {
            throw new IllegalArgumentException("CHILD SA " + in.getId() + ": unknown encryption transform");
        }
        Proposal.Builder p = Proposal.builder(ah ? Protocol.AH : Protocol.ESP);
        if (!ah) {
            p.encryption(enc.hasVariableKeyLength()
                    ? EncryptionAlgorithm.of(enc, (in.getEncryptionKeyLength() - enc.saltLength()) * 8)
                    : EncryptionAlgorithm.of(enc));
        }
        IntegrityTransform integ = IntegrityTransform.byId(in.getIntegrityTransform());
        if (integ != null && integ != IntegrityTransform.NONE) {
            p.integrity(integ);
        }
        p.esn(in.getEsn() ? EsnTransform.ESN : EsnTransform.NO_ESN);
        IpsecMode mode = in.getMode() == dev.keel.proto.v1.IpsecMode.IPSEC_MODE_TRANSPORT ? IpsecMode.TRANSPORT
                : IpsecMode.TUNNEL;
        return new ChildSa(c.getName(), c.getInitiator(), in.getSpi(), out.getSpi(), p.build(), mode,
                CoreMapping.selectors(in.getLocalTsList(), "local_ts"),
                CoreMapping.selectors(in.getRemoteTsList(), "remote_ts"), in.getPeer().getPort() != 0,
                ChildSaKeys.none());
    }

    /** The IKE SA record {@code id} from the SAD (a 10 s deadline), or null when there is none. */
    static IkeSaRecord find(SaServiceGrpc.SaServiceBlockingStub sad, String id) {
        if (id.isEmpty()) {
            return null;
        }
        try {
            return sad.withDeadlineAfter(10, TimeUnit.SECONDS).getIkeSa(GetIkeSaRequest.newBuilder().setId(id).build())
                    .getIkeSa();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }

    /** The live CHILD SA record {@code id} from the SAD (a 10 s deadline), or null when it is gone or a tombstone. */
    static ChildSaRecord child(SaServiceGrpc.SaServiceBlockingStub sad, String id) {
        try {
            ChildSaRecord r = sad.withDeadlineAfter(10, TimeUnit.SECONDS)
                    .getChildSa(GetChildSaRequest.newBuilder().setId(id).build()).getChildSa();
            return r.getState() == ChildSaState.CHILD_SA_STATE_DELETED ? null : r;
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }
}
