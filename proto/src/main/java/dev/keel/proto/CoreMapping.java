package dev.keel.proto;

import com.google.protobuf.ByteString;
import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpRange;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.spd.SpdAction;
import dev.keel.core.spd.SpdEntry;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.PolicyAction;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * The one mapping between keel.v1 messages and core's vocabulary: traffic selectors, endpoints,
 * SPD entries and the IPsec mode, in both directions. Every service that reads these messages
 * reads them here, so all apply one validation.
 *
 * <p>Reading a message either returns a core value or throws {@link IllegalArgumentException}
 * with the message {@code "<field>: <problem>"}, where the field is the caller's path to the
 * message plus the proto field name (e.g. {@code child_sa.local_ts[0].end_address}). The rules:
 * addresses are 4 or 16 bytes, both ends of a range of one family and start &lt;= end; a protocol
 * is 0..255 and a port 0..65535 (the wire fields are uint32, read unsigned); then whatever
 * core's constructors refuse (a reversed port range, ports for a protocol without them, a
 * PROTECT entry naming no child), named by the message's field.
 */
public final class CoreMapping {

    private static final int MAX_PORT = 0xFFFF;
    /** The index of a field that is not an element of a repeated one. */
    private static final int NO_INDEX = -1;

    private CoreMapping() {
    }

    /** Reads one traffic selector; {@code field} is its path, e.g. {@code local_ts[0]}. */
    public static TrafficSelector selector(dev.keel.proto.v1.TrafficSelector ts, String field) {
        return selector(ts, field, NO_INDEX);
    }

    /** Reads a list of selectors, the i-th named {@code field[i]}. */
    public static List<TrafficSelector> selectors(List<dev.keel.proto.v1.TrafficSelector> list, String field) {
        return each(list, field, CoreMapping::selector);
    }

    /** The selector at {@code field[index]} (or {@code field} with {@link #NO_INDEX}). */
    private static TrafficSelector selector(dev.keel.proto.v1.TrafficSelector ts, String field, int index) {
        IpAddress start = address(ts.getStartAddress(), field, index, ".start_address");
        IpAddress end = address(ts.getEndAddress(), field, index, ".end_address");
        if (start.family() != end.family()) {
            throw invalid(field, index, ".end_address", "address family differs from start_address");
        }
        if (start.compareTo(end) > 0) {
            throw invalid(field, index, ".end_address", "is below start_address");
        }
        int protocol = unsigned(ts.getIpProtocol(), 255, field, index, ".ip_protocol");
        int startPort = unsigned(ts.getStartPort(), MAX_PORT, field, index, ".start_port");
        int endPort = unsigned(ts.getEndPort(), MAX_PORT, field, index, ".end_port");
        try {
            return TrafficSelector.of(IpRange.of(start, end), protocol, startPort, endPort);
        } catch (IllegalArgumentException e) {
            throw invalid(field, index, "", e.getMessage());
        }
    }

    /** A core selector as a keel.v1.TrafficSelector. */
    public static dev.keel.proto.v1.TrafficSelector selector(TrafficSelector ts) {
        return dev.keel.proto.v1.TrafficSelector.newBuilder()
                .setStartAddress(ByteString.copyFrom(ts.startAddress().bytes()))
                .setEndAddress(ByteString.copyFrom(ts.endAddress().bytes()))
                .setIpProtocol(ts.protocol())
                .setStartPort(ts.startPort())
                .setEndPort(ts.endPort())
                .build();
    }

    /** Reads network-order address bytes: 4 (IPv4) or 16 (IPv6). */
    public static IpAddress address(ByteString bytes, String field) {
        return address(bytes, field, NO_INDEX, "");
    }

    private static IpAddress address(ByteString bytes, String field, int index, String member) {
        return IpAddress.fromBytes(addressBytes(bytes, field, index, member));
    }

    private static byte[] addressBytes(ByteString bytes, String field, int index, String member) {
        if (bytes.size() != 4 && bytes.size() != 16) {
            throw invalid(field, index, member, bytes.size() + " bytes, want 4 (IPv4) or 16 (IPv6)");
        }
        return bytes.toByteArray();
    }

    /** Reads an endpoint; {@code field} is its path, e.g. {@code peer}. */
    public static InetSocketAddress endpoint(Endpoint e, String field) {
        byte[] address = addressBytes(e.getAddress(), field, NO_INDEX, ".address");
        int port = unsigned(e.getPort(), MAX_PORT, field, NO_INDEX, ".port");
        try {
            return new InetSocketAddress(InetAddress.getByAddress(address), port);
        } catch (UnknownHostException x) {
            throw new IllegalStateException("4 or 16 bytes always make an address", x);
        }
    }

    /** An endpoint of {@code address} and {@code port} (0 where ESP is not UDP-encapsulated, sa.proto). */
    public static Endpoint endpoint(InetAddress address, int port) {
        return Endpoint.newBuilder().setAddress(ByteString.copyFrom(address.getAddress())).setPort(port).build();
    }

    /**
     * Reads one SPD entry; {@code field} is its path, e.g. {@code spd[3]}. PROTECT entries are
     * named {@code connection/child} whatever the message's name says.
     */
    public static SpdEntry spdEntry(dev.keel.proto.v1.SpdEntry e, String field) {
        return spdEntry(e, field, NO_INDEX);
    }

    private static SpdEntry spdEntry(dev.keel.proto.v1.SpdEntry e, String field, int index) {
        String at = path(field, index, "");
        TrafficSelector local = selector(e.getLocal(), at + ".local");
        TrafficSelector remote = selector(e.getRemote(), at + ".remote");
        SpdAction action = switch (e.getAction()) {
            case POLICY_ACTION_PROTECT -> SpdAction.PROTECT;
            case POLICY_ACTION_BYPASS -> SpdAction.BYPASS;
            case POLICY_ACTION_DISCARD -> SpdAction.DISCARD;
            default -> throw invalid(at, NO_INDEX, ".action", e.getAction() + " is not PROTECT, BYPASS or DISCARD");
        };
        if (action == SpdAction.PROTECT && (e.getConnection().isEmpty() || e.getChild().isEmpty())) {
            throw invalid(at, NO_INDEX, "", "PROTECT without connection and child");
        }
        try {
            if (action != SpdAction.PROTECT) {
                if (!e.getInterface().isEmpty()) {
                    throw invalid(at, NO_INDEX, ".interface", "only a PROTECT entry belongs to an interface");
                }
                return SpdEntry.of(e.getName(), local, remote, action);
            }
            return SpdEntry.protect(e.getConnection(), e.getChild(), local, remote)
                    .onInterface(e.getInterface().isEmpty() ? null : e.getInterface());
        } catch (IllegalArgumentException x) {
            throw invalid(at, NO_INDEX, "", x.getMessage());
        }
    }

    /** Reads an ordered SPD, the i-th entry named {@code field[i]}. */
    public static List<SpdEntry> spd(List<dev.keel.proto.v1.SpdEntry> entries, String field) {
        return each(entries, field, CoreMapping::spdEntry);
    }

    /**
     * A core SPD entry as keel.v1: name, selectors with their canonical text, action, and the
     * connection and child of a PROTECT entry. The caller sets {@code order} and {@code priority}.
     */
    public static dev.keel.proto.v1.SpdEntry.Builder spdEntry(SpdEntry e) {
        dev.keel.proto.v1.SpdEntry.Builder b = dev.keel.proto.v1.SpdEntry.newBuilder()
                .setName(e.name())
                .setLocal(selector(e.local()))
                .setRemote(selector(e.remote()))
                .setLocalText(e.local().toString())
                .setRemoteText(e.remote().toString())
                .setAction(switch (e.action()) {
                    case PROTECT -> PolicyAction.POLICY_ACTION_PROTECT;
                    case BYPASS -> PolicyAction.POLICY_ACTION_BYPASS;
                    case DISCARD -> PolicyAction.POLICY_ACTION_DISCARD;
                });
        if (e.connection() != null) {
            b.setConnection(e.connection()).setChild(e.child());
        }
        if (e.iface() != null) {
            b.setInterface(e.iface());
        }
        return b;
    }

    /** Reads a mode: TUNNEL or TRANSPORT, nothing else. */
    public static IpsecMode mode(dev.keel.proto.v1.IpsecMode mode, String field) {
        return switch (mode) {
            case IPSEC_MODE_TUNNEL -> IpsecMode.TUNNEL;
            case IPSEC_MODE_TRANSPORT -> IpsecMode.TRANSPORT;
            default -> throw invalid(field, NO_INDEX, "", mode + " is not TUNNEL or TRANSPORT");
        };
    }

    /** A core mode as keel.v1. */
    public static dev.keel.proto.v1.IpsecMode mode(IpsecMode mode) {
        return switch (mode) {
            case TUNNEL -> dev.keel.proto.v1.IpsecMode.IPSEC_MODE_TUNNEL;
            case TRANSPORT -> dev.keel.proto.v1.IpsecMode.IPSEC_MODE_TRANSPORT;
        };
    }

    /** Reads one message of a repeated field (index {@link #NO_INDEX}: a single field). */
    private interface Reader<M, T> {
        T read(M message, String field, int index);
    }

    /** Reads each message of a repeated field, the i-th named {@code field[i]}. */
    private static <M, T> List<T> each(List<M> messages, String field, Reader<M, T> read) {
        List<T> out = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            out.add(read.read(messages.get(i), field, i));
        }
        return out;
    }

    /** A uint32 field (negative as a Java int when above 2^31) that must be at most {@code max}. */
    private static int unsigned(int value, int max, String field, int index, String member) {
        if (Integer.compareUnsigned(value, max) > 0) {
            throw invalid(field, index, member, Integer.toUnsignedString(value) + " is not in 0.." + max);
        }
        return value;
    }

    /** {@code field[index].member}; built only for a refusal (sad-service reads every install's fields). */
    private static String path(String field, int index, String member) {
        return (index == NO_INDEX ? field : field + "[" + index + "]") + member;
    }

    private static IllegalArgumentException invalid(String field, int index, String member, String problem) {
        return new IllegalArgumentException(path(field, index, member) + ": " + problem);
    }
}
