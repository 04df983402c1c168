package dev.keel.esp.feed;

import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.IpsecProtocol;

/**
 * A keel.v1 CHILD SA record → the data plane's {@link EspSaSpec}. Selectors, endpoints and the
 * SPD are read by {@link CoreMapping}. Throws {@link IllegalArgumentException} naming the field
 * that is wrong; never a key byte.
 */
final class ProtoConversions {

    private ProtoConversions() {
    }

    /**
     * The data-plane spec of a CHILD SA record with its unwrapped keys. The caller wipes
     * {@code encKey} and {@code integKey} afterwards (the spec keeps copies).
     */
    static EspSaSpec spec(ChildSaRecord r, byte[] encKey, byte[] integKey) {
        if (r.getProtocol() == IpsecProtocol.IPSEC_PROTOCOL_AH) {
            return ah(r, integKey);
        }
        EncryptionTransform enc = EncryptionTransform.byId(r.getEncryptionTransform());
        if (enc == null) {
            throw new IllegalArgumentException("encryption_transform " + r.getEncryptionTransform() + " is not known");
        }
        IntegrityTransform integ = r.getIntegrityTransform() == 0 ? IntegrityTransform.NONE
                : IntegrityTransform.byId(r.getIntegrityTransform());
        if (integ == null) {
            throw new IllegalArgumentException("integrity_transform " + r.getIntegrityTransform() + " is not known");
        }
        IpsecMode mode = CoreMapping.mode(r.getMode(), "mode");
        boolean inbound = r.getDirection() == Direction.DIRECTION_INBOUND;
        return new EspSaSpec(r.getSpi(), mode, enc, encKey, integ, integKey, r.getEsn(),
                inbound ? (int) Math.min(r.getReplayWindow(), Integer.MAX_VALUE) : 0, 0, r.getPeer().getPort() != 0);
    }

    /** An AH record (RFC 4302): integrity only, over IP protocol 51, so never UDP-encapsulated. */
    private static EspSaSpec ah(ChildSaRecord r, byte[] integKey) {
        IntegrityTransform integ = IntegrityTransform.byId(r.getIntegrityTransform());
        if (integ == null || integ == IntegrityTransform.NONE) {
            throw new IllegalArgumentException("integrity_transform " + r.getIntegrityTransform() + " is not known for AH");
        }
        if (r.getPeer().getPort() != 0) {
            throw new IllegalArgumentException("peer.port " + r.getPeer().getPort()
                    + ": AH cannot be UDP-encapsulated (RFC 3948 defines ESP only)");
        }
        boolean inbound = r.getDirection() == Direction.DIRECTION_INBOUND;
        return EspSaSpec.ah(r.getSpi(), CoreMapping.mode(r.getMode(), "mode"), integ, integKey, r.getEsn(),
                inbound ? (int) Math.min(r.getReplayWindow(), Integer.MAX_VALUE) : 0);
    }
}
