package dev.keel.sad;

import com.google.protobuf.ByteString;
import dev.keel.core.sa.ReplayWindowSize;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.ChildSaKeys;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.IkeSaChild;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.IpsecProtocol;
import dev.keel.proto.v1.Lifetime;
import dev.keel.proto.v1.TrafficSelector;
import dev.keel.proto.v1.UpdateChildSaRequest;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Checks requests before they touch the cluster. Each failure is an INVALID_ARGUMENT naming the
 * field path (as in the proto) and what is wrong; key bytes are never part of a message.
 */
public final class Validation {

    /** What an id may be; {@link #id} checks it with a loop (the same rule, ValidationTest). */
    static final Pattern ID = Pattern.compile("[A-Za-z0-9._:/-]{1,128}");
    private static final Pattern NODE = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private Validation() {}

    public static void id(String field, String id) {
        if (id.isEmpty()) {
            throw SadException.invalid(field, "must not be empty");
        }
        if (!idChars(id)) {
            throw SadException.invalid(field, "must be 1..128 of [A-Za-z0-9._:/-]");
        }
    }

    /**
     * {@link #ID} without a regex matcher: called for every item of every install batch, where the
     * matcher was a visible share of the request thread's CPU.
     */
    private static boolean idChars(String id) {
        int n = id.length();
        if (n < 1 || n > 128) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = id.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '.' || c == '_' || c == ':' || c == '/' || c == '-')) {
                return false;
            }
        }
        return true;
    }

    public static void optionalNode(String field, String node) {
        if (!node.isEmpty() && !NODE.matcher(node).matches()) {
            throw SadException.invalid(field, "'" + node + "' is not a node id (1..64 of [A-Za-z0-9._-])");
        }
    }

    /** Largest margin a replay checkpoint may record: 2^32 sequence numbers (docs/ha.md). */
    public static final long MAX_REPLAY_MARGIN = 1L << 32;

    /** A replay margin (CheckpointReplays, replay-initial-margin): 1..2^32. */
    public static void replayMargin(String field, long margin) {
        if (margin == 0 || Long.compareUnsigned(margin, MAX_REPLAY_MARGIN) > 0) {
            throw SadException.invalid(field, Long.toUnsignedString(margin) + " is not in 1.." + MAX_REPLAY_MARGIN);
        }
    }

    /** Validates InstallChildSa's record and plaintext keys. */
    public static void childSa(ChildSaRecord r, ChildSaKeys keys) {
        String p = "child_sa.";
        if (!r.getId().isEmpty()) {
            id(p + "id", r.getId());
        }
        if (r.getConnection().isEmpty()) {
            throw SadException.invalid(p + "connection", "must not be empty");
        }
        if (Integer.compareUnsigned(r.getSpi(), 256) < 0) {
            throw SadException.invalid(p + "spi", Integer.toUnsignedString(r.getSpi())
                    + " is reserved (0..255, RFC 4303 §2.1)");
        }
        if (r.getDirection() == Direction.DIRECTION_UNSPECIFIED || r.getDirection() == Direction.UNRECOGNIZED) {
            throw SadException.invalid(p + "direction", "must be INBOUND or OUTBOUND");
        }
        if (r.getProtocol() == IpsecProtocol.IPSEC_PROTOCOL_UNSPECIFIED || r.getProtocol() == IpsecProtocol.UNRECOGNIZED) {
            throw SadException.invalid(p + "protocol", "must be ESP or AH");
        }
        try {
            CoreMapping.mode(r.getMode(), p + "mode");
        } catch (IllegalArgumentException x) {
            throw invalid(x);
        }
        endpoint(p + "local", r.hasLocal() ? r.getLocal() : null);
        endpoint(p + "peer", r.hasPeer() ? r.getPeer() : null);
        if (r.getLocal().getAddress().size() != r.getPeer().getAddress().size()) {
            throw SadException.invalid(p + "peer.address", "address family differs from child_sa.local.address");
        }
        transforms(r, keys);
        if (r.getDirection() == Direction.DIRECTION_INBOUND && !ReplayWindowSize.allowed(r.getReplayWindow())) {
            throw SadException.invalid(p + "replay_window", Integer.toUnsignedString(r.getReplayWindow())
                    + " is neither 0 (no replay protection) nor " + ReplayWindowSize.MIN + ".." + ReplayWindowSize.MAX);
        }
        selectors(p + "local_ts", r.getLocalTsList());
        selectors(p + "remote_ts", r.getRemoteTsList());
        lifetime(p + "lifetime", r.getLifetime());
    }

    private static void transforms(ChildSaRecord r, ChildSaKeys keys) {
        String p = "child_sa.";
        EncryptionTransform enc = EncryptionTransform.byId(r.getEncryptionTransform());
        boolean ah = r.getProtocol() == IpsecProtocol.IPSEC_PROTOCOL_AH;
        if (ah) {
            if (r.getEncryptionTransform() != 0) {
                throw SadException.invalid(p + "encryption_transform", "must be 0 for AH");
            }
        } else if (enc == null) {
            throw SadException.invalid(p + "encryption_transform",
                    r.getEncryptionTransform() + " is not an encryption transform Keel implements");
        }
        if (enc != null) {
            int keyLen = r.getEncryptionKeyLength() - enc.saltLength();
            if (!enc.acceptsKeyLength(keyLen)) {
                throw SadException.invalid(p + "encryption_key_length", r.getEncryptionKeyLength()
                        + " bytes is not valid for " + enc.ianaName() + (enc.saltLength() > 0
                        ? " (key + " + enc.saltLength() + "-byte salt)" : ""));
            }
        }
        IntegrityTransform integ = r.getIntegrityTransform() == 0 ? null
                : IntegrityTransform.byId(r.getIntegrityTransform());
        if (r.getIntegrityTransform() != 0 && integ == null) {
            throw SadException.invalid(p + "integrity_transform",
                    r.getIntegrityTransform() + " is not an integrity transform Keel implements");
        }
        if (enc != null && enc.isAead() && integ != null) {
            throw SadException.invalid(p + "integrity_transform", "must be 0 (NONE) with AEAD " + enc.ianaName());
        }
        if ((enc == null || !enc.isAead()) && integ == null) {
            throw SadException.invalid(p + "integrity_transform", "is required with "
                    + (enc == null ? "AH" : enc.ianaName()));
        }
        int integLen = integ == null ? 0 : integ.keyLength();
        if (r.getIntegrityKeyLength() != integLen) {
            throw SadException.invalid(p + "integrity_key_length", r.getIntegrityKeyLength() + " bytes, want "
                    + integLen + (integ == null ? "" : " for " + integ.ianaName()));
        }
        if (keys.getEncryption().size() != r.getEncryptionKeyLength()) {
            throw SadException.invalid("keys.encryption", keys.getEncryption().size()
                    + " bytes, want encryption_key_length " + r.getEncryptionKeyLength());
        }
        if (keys.getIntegrity().size() != r.getIntegrityKeyLength()) {
            throw SadException.invalid("keys.integrity", keys.getIntegrity().size()
                    + " bytes, want integrity_key_length " + r.getIntegrityKeyLength());
        }
    }

    public static void endpoint(String field, Endpoint e) {
        if (e == null) {
            throw SadException.invalid(field, "is required");
        }
        try {
            CoreMapping.endpoint(e, field);
        } catch (IllegalArgumentException x) {
            throw invalid(x);
        }
    }

    /** Network-order address bytes (a filter, e.g. ListChildSas peer_address): 4 or 16. */
    public static void address(String field, ByteString a) {
        try {
            CoreMapping.address(a, field);
        } catch (IllegalArgumentException x) {
            throw invalid(x);
        }
    }

    /** At least one selector, each as every service reads it (CoreMapping). */
    private static void selectors(String field, List<TrafficSelector> list) {
        if (list.isEmpty()) {
            throw SadException.invalid(field, "at least one traffic selector is required");
        }
        try {
            CoreMapping.selectors(list, field);
        } catch (IllegalArgumentException x) {
            throw invalid(x);
        }
    }

    /** CoreMapping's refusal, whose message is already "field: problem". */
    private static SadException invalid(IllegalArgumentException x) {
        return new SadException(SadException.Kind.INVALID_ARGUMENT, x.getMessage());
    }

    public static void lifetime(String field, Lifetime l) {
        pair(field, "seconds", l.getSoftSeconds(), l.getHardSeconds());
        pair(field, "bytes", l.getSoftBytes(), l.getHardBytes());
        pair(field, "packets", l.getSoftPackets(), l.getHardPackets());
        if (l.getHardSeconds() > 100L * 365 * 24 * 3600) {
            throw SadException.invalid(field + ".hard_seconds", "exceeds 100 years");
        }
    }

    private static void pair(String field, String unit, long soft, long hard) {
        if (soft != 0 && hard != 0 && Long.compareUnsigned(soft, hard) >= 0) {
            throw SadException.invalid(field + ".soft_" + unit, "must be below hard_" + unit);
        }
    }

    public static void update(UpdateChildSaRequest u) {
        id("id", u.getId());
        if (u.hasLocal()) {
            endpoint("local", u.getLocal());
        }
        if (u.hasPeer()) {
            endpoint("peer", u.getPeer());
        }
        if (u.hasLifetime()) {
            lifetime("lifetime", u.getLifetime());
        }
        if (u.hasState()) {
            ChildSaState s = u.getState();
            if (s != ChildSaState.CHILD_SA_STATE_ACTIVE && s != ChildSaState.CHILD_SA_STATE_REKEYING
                    && s != ChildSaState.CHILD_SA_STATE_REKEYED) {
                throw SadException.invalid("state", s + " cannot be set by UpdateChildSa (only ACTIVE, REKEYING, "
                        + "REKEYED; EXPIRED comes from lifetimes, DELETED from DeleteChildSa)");
            }
        }
    }

    public static void ikeSa(IkeSaRecord r) {
        String p = "ike_sa.";
        id(p + "id", r.getId());
        if (r.getConnection().isEmpty()) {
            throw SadException.invalid(p + "connection", "must not be empty");
        }
        if (r.getInitiatorSpi() == 0) {
            throw SadException.invalid(p + "initiator_spi", "must not be 0 (RFC 7296 §3.1)");
        }
        endpoint(p + "local", r.hasLocal() ? r.getLocal() : null);
        endpoint(p + "peer", r.hasPeer() ? r.getPeer() : null);
        optionalNode(p + "owner_node_id", r.getOwnerNodeId());
        optionalNode(p + "ike_service", r.getIkeService());
        if (r.getLastResponse().size() > MAX_IKE_MESSAGE) {
            throw SadException.invalid(p + "last_response", r.getLastResponse().size() + " bytes exceeds "
                    + MAX_IKE_MESSAGE + " (an IKE message in one UDP datagram)");
        }
        if (r.getChildrenCount() > MAX_IKE_CHILDREN) {
            throw SadException.invalid(p + "children", r.getChildrenCount() + " entries exceeds " + MAX_IKE_CHILDREN);
        }
        for (int i = 0; i < r.getChildrenCount(); i++) {
            IkeSaChild c = r.getChildren(i);
            String q = p + "children[" + i + "].";
            if (c.getName().isEmpty()) {
                throw SadException.invalid(q + "name", "must not be empty");
            }
            id(q + "inbound_sa_id", c.getInboundSaId());
            id(q + "outbound_sa_id", c.getOutboundSaId());
        }
        if (!r.getRekeyedFrom().isEmpty()) {
            id(p + "rekeyed_from", r.getRekeyedFrom());
        }
    }

    /** The largest IKE message a record keeps (last_response): a UDP datagram's payload. */
    static final int MAX_IKE_MESSAGE = 65_507;
    /** CHILD SAs one IKE SA record lists at most. */
    static final int MAX_IKE_CHILDREN = 1_000;
}
