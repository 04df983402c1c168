package dev.keel.ike.admin;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.ChildSas;
import dev.keel.ike.session.IkeSa;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.Algorithms;
import dev.keel.proto.v1.ChildSaInfo;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.IkeSaInfo;
import dev.keel.proto.v1.IkeSaState;
import dev.keel.proto.v1.IpsecProtocol;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * IKE SAs with their CHILD SAs as keel.v1.IkeService lists them (swanctl --list-sas). {@link #info}
 * reads the IKE SA and must run on its thread; the message it returns is an immutable copy that
 * any thread may use. Algorithms are named as strongSwan prints them ("AES_GCM_16" 256,
 * "HMAC_SHA2_256_128", "PRF_HMAC_SHA2_256", "CURVE_25519"), which keelctl shows as swanctl does.
 */
final class SaListing {

    private SaListing() {
    }

    /**
     * {@code sa} now, with its CHILD SAs but without their traffic ({@link #withTraffic}); on its
     * thread. {@code owner} is the node that owns it in the SAD (empty alone).
     */
    static IkeSaInfo info(IkeSa sa, String owner) {
        IkeSaInfo.Builder b = IkeSaInfo.newBuilder()
                .setConnection(sa.connection() == null ? "" : sa.connection().name())
                .setUniqueId(sa.uniqueId())
                .setState(state(sa.state()))
                .setInitiator(sa.originalInitiator())
                .setInitiatorSpi(sa.spiI())
                .setResponderSpi(sa.spiR())
                .setLocal(CoreMapping.endpoint(inet(sa.endpoints().localAddress().bytes()),
                        sa.endpoints().localPort()))
                .setRemote(CoreMapping.endpoint(sa.endpoints().remote().getAddress(),
                        sa.endpoints().remote().getPort()))
                .setNatLocal(sa.endpoints().natHere())
                .setNatRemote(sa.endpoints().natThere())
                .setEstablishedMillis(sa.establishedAtMillis())
                .setRekeyMillis(sa.successor() == null ? sa.rekeyAtMillis() : 0)
                .setReauthMillis(sa.successor() == null ? sa.reauthAtMillis() : 0)
                .setNextRequestMessageId((int) sa.tasks().nextRequestId())
                .setExpectedRequestMessageId((int) sa.tasks().expectedRequestId())
                .setOwner(owner);
        if (sa.connection() != null) {
            b.setLocalId(sa.connection().localId().toString());
            if (sa.peerIdentity() != null) {
                b.setRemoteId(sa.peerIdentity().toString());
            } else if (sa.connection().remoteId() != null) { // taken over: the identity the connection requires
                b.setRemoteId(sa.connection().remoteId().toString());
            }
        }
        if (sa.suite() != null) {
            b.setAlgorithms(algorithms(sa.suite(), true, false));
        }
        int rekeying = sa.tasks().inFlightRekeyedChild();
        for (ChildSas.Status c : sa.childSas().statuses()) {
            b.addChildren(child(c, rekeying));
        }
        return b.build();
    }

    private static ChildSaInfo child(ChildSas.Status s, int rekeying) {
        ChildSa c = s.child();
        ChildSaInfo.Builder b = ChildSaInfo.newBuilder()
                .setName(c.name())
                .setUniqueId(s.uniqueId())
                .setState(s.replaced() ? ChildSaState.CHILD_SA_STATE_REKEYED
                        : c.inboundSpi() == rekeying ? ChildSaState.CHILD_SA_STATE_REKEYING
                        : ChildSaState.CHILD_SA_STATE_ACTIVE)
                .setProtocol(c.proposal().protocol() == dev.keel.core.proposal.Protocol.AH
                        ? IpsecProtocol.IPSEC_PROTOCOL_AH : IpsecProtocol.IPSEC_PROTOCOL_ESP)
                .setMode(CoreMapping.mode(c.mode()))
                .setEncap(c.encap())
                .setSpiIn(c.inboundSpi())
                .setSpiOut(c.outboundSpi())
                .setAlgorithms(algorithms(c.suite(), false, c.esn()))
                .setInstalledMillis(s.madeAtMillis())
                .setRekeyMillis(s.rekeyAtMillis())
                .setExpireMillis(s.expireAtMillis());
        for (TrafficSelector ts : c.localTs()) {
            b.addLocalTs(CoreMapping.selector(ts));
        }
        for (TrafficSelector ts : c.remoteTs()) {
            b.addRemoteTs(CoreMapping.selector(ts));
        }
        return b.build();
    }

    /** {@code info} with each CHILD SA's traffic from {@code usage}. */
    static IkeSaInfo withTraffic(IkeSaInfo info, ChildSaUsage.Lookup usage) {
        if (info.getChildrenCount() == 0) {
            return info;
        }
        IkeSaInfo.Builder b = info.toBuilder();
        for (ChildSaInfo.Builder c : b.getChildrenBuilderList()) {
            ChildSaUsage.Traffic in = usage.of(c.getSpiIn(), true);
            ChildSaUsage.Traffic out = usage.of(c.getSpiIn(), false);
            c.setBytesIn(in.bytes()).setPacketsIn(in.packets()).setLastInMillis(in.lastUsedMillis())
                    .setBytesOut(out.bytes()).setPacketsOut(out.packets()).setLastOutMillis(out.lastUsedMillis());
        }
        return b.build();
    }

    static IkeSaState state(dev.keel.ike.session.IkeSaState s) {
        return switch (s) {
            case CONNECTING -> IkeSaState.IKE_SA_STATE_CONNECTING;
            case ESTABLISHED -> IkeSaState.IKE_SA_STATE_ESTABLISHED;
            // DESTROYED: gone between the look-up and the read; shown as what it was last
            case DELETING, DESTROYED -> IkeSaState.IKE_SA_STATE_DELETING;
        };
    }

    /** The algorithms of a negotiated suite: with the PRF for an IKE SA, with ESN for a CHILD SA. */
    static Algorithms algorithms(IkeSuite suite, boolean ike, boolean esn) {
        Algorithms.Builder b = Algorithms.newBuilder()
                .setEncryption(encryptionName(suite.encryption().transform()))
                .setEncryptionKeyBits(suite.encryption().keyBits())
                .setIntegrity(integrityName(suite.integrity()))
                .setKeyExchange(keyExchangeName(suite.keyExchange()))
                .setEsn(esn);
        if (ike && suite.prf() != null) {
            b.setPrf(suite.prf().ianaName());
        }
        return b.build();
    }

    /** strongSwan's name: the IANA name without "ENCR_" ("AES_GCM_16", "CHACHA20_POLY1305"). */
    static String encryptionName(EncryptionTransform t) {
        return t.ianaName().substring("ENCR_".length());
    }

    /** strongSwan's name: the IANA name without "AUTH_" ("HMAC_SHA2_256_128"); empty for AEAD. */
    static String integrityName(IntegrityTransform t) {
        return t == IntegrityTransform.NONE ? "" : t.ianaName().substring("AUTH_".length());
    }

    /** strongSwan's name ("MODP_2048", "ECP_256", "CURVE_25519"); empty without a key exchange. */
    static String keyExchangeName(KeyExchangeTransform t) {
        return t == KeyExchangeTransform.NONE ? "" : t.ianaName().replace("CURVE", "CURVE_");
    }

    private static InetAddress inet(byte[] address) {
        try {
            return InetAddress.getByAddress(address);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("4 or 16 bytes always make an address", e);
        }
    }
}
