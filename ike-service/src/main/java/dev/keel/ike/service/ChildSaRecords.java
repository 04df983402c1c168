package dev.keel.ike.service;

import com.google.protobuf.ByteString;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.ChildLifetime;
import dev.keel.core.sa.ReplayWindowSize;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.ChildSaKeys;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.IpsecProtocol;
import dev.keel.proto.v1.Lifetime;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A negotiated CHILD SA pair as the two sad-service install requests (sa.proto
 * InstallChildSaRequest): inbound and outbound record with their plaintext keys, which
 * sad-service wraps under the cluster KEK before storing anything.
 */
public final class ChildSaRecords {

    private ChildSaRecords() {
    }

    /** Record ids of one pair: both derive from our inbound SPI, unique across the cluster while the SA lives. */
    public record Ids(String inbound, String outbound) {
        /** The ids of the pair whose inbound SPI is {@code inboundSpi}, installed by {@code node}. */
        public static Ids of(String node, int inboundSpi) {
            String base = "child-" + node + "-" + String.format("%08x", inboundSpi);
            return new Ids(base + "-in", base + "-out");
        }

        /** The pair whose inbound record is {@code inboundId}, when it is named as {@link #of} names it. */
        public static java.util.Optional<Ids> ofInbound(String inboundId) {
            return inboundId.startsWith("child-") && inboundId.endsWith("-in")
                    ? java.util.Optional.of(new Ids(inboundId, inboundId.substring(0, inboundId.length() - 3) + "-out"))
                    : java.util.Optional.empty();
        }
    }

    /** The IKE SA's id in records: both SPIs, as strongSwan prints them. */
    public static String ikeSaId(IkeSa sa) {
        return IkeSaRecords.id(sa.spiI(), sa.spiR());
    }

    /**
     * Both install requests. Copies the keys into the requests; the caller zeroizes the child's.
     *
     * @param local our ESP-in-UDP endpoint (address and the NAT-T port)
     * @param owner owner node id; empty for the serving node
     */
    public static List<InstallChildSaRequest> requests(IkeSa sa, ChildSa child, Ids ids, InetSocketAddress local,
            String owner) {
        int replayWindow = sa.connection().child(child.name()).map(ChildConnection::replayWindow)
                .orElse(ReplayWindowSize.DEFAULT);
        ChildSaRecord.Builder common = common(sa, child, local);
        ChildSaRecord in = common.clone().setId(ids.inbound()).setSpi(child.inboundSpi())
                .setDirection(Direction.DIRECTION_INBOUND).setReplayWindow(replayWindow).build();
        ChildSaRecord out = common.clone().setId(ids.outbound()).setSpi(child.outboundSpi())
                .setDirection(Direction.DIRECTION_OUTBOUND).setReplayWindow(0)
                .setOutboundStandby(replacesAsResponder(sa, child)).build();
        return List.of(
                request(in, child.inboundEncryptionKey(), child.inboundIntegrityKey(), owner),
                request(out, child.outboundEncryptionKey(), child.outboundIntegrityKey(), owner));
    }

    /**
     * Whether {@code child} is the new SA of a rekey the peer started: we answered, and the IKE SA
     * holds another CHILD SA of its configuration. Its outbound half waits on standby until the
     * peer deletes the old one ({@code ChildSaRecord.outbound_standby}).
     */
    static boolean replacesAsResponder(IkeSa sa, ChildSa child) {
        if (child.initiator()) {
            return false;
        }
        for (ChildSa other : sa.children()) {
            if (other.inboundSpi() != child.inboundSpi() && other.name().equals(child.name())) {
                return true;
            }
        }
        return false;
    }

    private static InstallChildSaRequest request(ChildSaRecord r, byte[] enc, byte[] integ, String owner) {
        return InstallChildSaRequest.newBuilder()
                .setChildSa(r.toBuilder().setEncryptionKeyLength(enc.length).setIntegrityKeyLength(integ.length))
                .setKeys(ChildSaKeys.newBuilder().setEncryption(ByteString.copyFrom(enc))
                        .setIntegrity(ByteString.copyFrom(integ)))
                .setOwnerNodeId(owner)
                .build();
    }

    private static ChildSaRecord.Builder common(IkeSa sa, ChildSa child, InetSocketAddress local) {
        IkeSuite suite = child.suite();
        boolean ah = child.proposal().protocol() == Protocol.AH;
        InetSocketAddress peer = sa.endpoints().remote();
        ChildSaRecord.Builder b = ChildSaRecord.newBuilder()
                .setConnection(sa.connection().name())
                .setChild(child.name())
                .setIkeSaId(ikeSaId(sa))
                .setProtocol(ah ? IpsecProtocol.IPSEC_PROTOCOL_AH : IpsecProtocol.IPSEC_PROTOCOL_ESP)
                .setMode(CoreMapping.mode(child.mode()))
                // port 0 is raw ESP (sa.proto Endpoint): no NAT found and no encapsulation forced (RFC 7296 §2.23)
                .setLocal(CoreMapping.endpoint(local.getAddress(), child.encap() ? local.getPort() : 0))
                .setPeer(CoreMapping.endpoint(peer.getAddress(), child.encap() ? peer.getPort() : 0))
                .setEncryptionTransform(ah ? 0 : suite.encryption().transform().id())
                .setIntegrityTransform(suite.integrity().id())
                .setEsn(child.esn());
        for (TrafficSelector ts : child.localTs()) {
            b.addLocalTs(CoreMapping.selector(ts));
        }
        for (TrafficSelector ts : child.remoteTs()) {
            b.addRemoteTs(CoreMapping.selector(ts));
        }
        sa.connection().child(child.name()).ifPresent(c -> b.setLifetime(lifetime(c)));
        return b;
    }

    /**
     * Soft limits (ike-service rekeys) and hard ones (the SA stops), RFC 4301 §4.4.2.1: by time
     * rekey_time and life_time; by bytes and packets rekey_* less a random part of rand_* (each SA
     * its own, so both ends rarely rekey at once) and life_*. The data plane counts each direction.
     */
    static Lifetime lifetime(ChildConnection c) {
        ChildLifetime l = c.lifetime();
        // Whole seconds in the record: the hard limit rounds up, so the SA never ends before IKE's own timer.
        long hard = (l.millis().life() + 999) / 1000;
        long soft = l.millis().rekey() / 1000;
        if (hard != 0 && soft >= hard) {
            soft = 0;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        return Lifetime.newBuilder().setSoftSeconds(soft).setHardSeconds(hard)
                .setSoftBytes(l.bytes().soft(random)).setHardBytes(l.bytes().life())
                .setSoftPackets(l.packets().soft(random)).setHardPackets(l.packets().life()).build();
    }

    /** Zeroizes a child's four key arrays (the SAD holds them wrapped now). */
    static void wipe(ChildSa child) {
        Arrays.fill(child.inboundEncryptionKey(), (byte) 0);
        Arrays.fill(child.inboundIntegrityKey(), (byte) 0);
        Arrays.fill(child.outboundEncryptionKey(), (byte) 0);
        Arrays.fill(child.outboundIntegrityKey(), (byte) 0);
    }
}
