package dev.keel.esp.feed;

import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;

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
}
