package dev.keel.esp.feed;

import dev.keel.core.net.IpAddress;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.spd.SpdAction;
import dev.keel.core.spd.SpdEntry;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Endpoint;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * keel.v1 messages → the data plane's types. Every method either returns a value or throws
 * {@link IllegalArgumentException} naming the field that is wrong; never a key byte.
 */
final class ProtoConversions {

    private ProtoConversions() {
    }

    static TrafficSelector selector(dev.keel.proto.v1.TrafficSelector ts, String field) {
        byte[] s = ts.getStartAddress().toByteArray();
        byte[] e = ts.getEndAddress().toByteArray();
        if (s.length != 4 && s.length != 16 || e.length != s.length) {
            throw new IllegalArgumentException(field + ": addresses of " + s.length + " and " + e.length
                    + " bytes, want 4 or 16 each");
        }
        if (ts.getIpProtocol() > 255 || ts.getStartPort() > 65535 || ts.getEndPort() > 65535) {
            throw new IllegalArgumentException(field + ": protocol or port out of range");
        }
        return TrafficSelector.of(IpAddress.fromBytes(s), IpAddress.fromBytes(e), ts.getIpProtocol(),
                ts.getStartPort(), ts.getEndPort());
    }

    static List<TrafficSelector> selectors(List<dev.keel.proto.v1.TrafficSelector> list, String field) {
        List<TrafficSelector> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            out.add(selector(list.get(i), field + "[" + i + "]"));
        }
        return out;
    }

    /** One SPD entry; PROTECT entries are named {@code connection/child} whatever the wire says. */
    static SpdEntry spdEntry(dev.keel.proto.v1.SpdEntry e, int index) {
        String field = "spd[" + index + "]";
        TrafficSelector local = selector(e.getLocal(), field + ".local");
        TrafficSelector remote = selector(e.getRemote(), field + ".remote");
        return switch (e.getAction()) {
            case POLICY_ACTION_PROTECT -> {
                if (e.getConnection().isEmpty() || e.getChild().isEmpty()) {
                    throw new IllegalArgumentException(field + ": PROTECT without connection and child");
                }
                yield SpdEntry.protect(e.getConnection(), e.getChild(), local, remote);
            }
            case POLICY_ACTION_BYPASS -> SpdEntry.of(e.getName(), local, remote, SpdAction.BYPASS);
            case POLICY_ACTION_DISCARD -> SpdEntry.of(e.getName(), local, remote, SpdAction.DISCARD);
            default -> throw new IllegalArgumentException(field + ".action: " + e.getAction());
        };
    }

    static List<SpdEntry> spd(List<dev.keel.proto.v1.SpdEntry> entries) {
        List<SpdEntry> out = new ArrayList<>(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            out.add(spdEntry(entries.get(i), i));
        }
        return out;
    }

    static InetSocketAddress endpoint(Endpoint e, String field) {
        byte[] a = e.getAddress().toByteArray();
        if (a.length != 4 && a.length != 16 || e.getPort() > 65535) {
            throw new IllegalArgumentException(field + ": " + a.length + "-byte address, port " + e.getPort());
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(a), e.getPort());
        } catch (UnknownHostException x) {
            throw new IllegalArgumentException(field + ": " + x.getMessage());
        }
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
        IpsecMode mode = switch (r.getMode()) {
            case IPSEC_MODE_TUNNEL -> IpsecMode.TUNNEL;
            case IPSEC_MODE_TRANSPORT -> IpsecMode.TRANSPORT;
            default -> throw new IllegalArgumentException("mode " + r.getMode());
        };
        boolean inbound = r.getDirection() == Direction.DIRECTION_INBOUND;
        return new EspSaSpec(r.getSpi(), mode, enc, encKey, integ, integKey, r.getEsn(),
                inbound ? (int) Math.min(r.getReplayWindow(), Integer.MAX_VALUE) : 0, 0, r.getPeer().getPort() != 0);
    }
}
