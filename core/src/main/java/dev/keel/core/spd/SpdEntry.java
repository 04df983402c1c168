package dev.keel.core.spd;

import dev.keel.core.ts.TrafficSelector;
import java.util.Objects;

/**
 * One SPD entry: a pair of selectors (local side, remote side) and the action for packets they
 * select. PROTECT entries name the connection and CHILD_SA whose SA carries the packet; BYPASS
 * and DISCARD entries name none.
 *
 * <p>Both selectors are of one family, and their protocols agree (equal, or one of them any):
 * RFC 4301 §4.4.1.1 gives an SPD entry a single next-layer protocol, so a pair such as
 * {@code [tcp]} with {@code [udp]} selects nothing and is not an entry (see {@link #compatible}).
 *
 * @param name       where the entry comes from, for operators: {@code connection/child} or the
 *                   explicit policy's name
 * @param local      selector for our side: the source of outbound packets, the destination of inbound ones
 * @param remote     selector for the peer's side: the destination of outbound packets, the source of inbound ones
 * @param action     what to do with a selected packet
 * @param connection the connection of a PROTECT entry, else null
 * @param child      the CHILD_SA of a PROTECT entry, else null
 * @param iface      the interface of a route-based connection's PROTECT entry: the entry belongs to
 *                   that interface's SPD (RFC 4301 §4.4.1 lets an implementation keep one SPD per
 *                   interface), and only packets routed into that interface meet it; null for the
 *                   SPD of the shared plaintext side
 */
public record SpdEntry(String name, TrafficSelector local, TrafficSelector remote, SpdAction action,
        String connection, String child, String iface) {

    /** Checks the invariants above. */
    public SpdEntry {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(action, "action");
        if (!compatible(local, remote)) {
            throw new IllegalArgumentException("selectors " + local + " and " + remote
                    + " differ in family or protocol and select nothing together");
        }
        if ((action == SpdAction.PROTECT) != (connection != null && child != null)) {
            throw new IllegalArgumentException(action == SpdAction.PROTECT
                    ? "a PROTECT entry names its connection and child"
                    : "a " + action + " entry names no connection or child");
        }
        if (iface != null && action != SpdAction.PROTECT) {
            throw new IllegalArgumentException("only a PROTECT entry belongs to an interface's SPD");
        }
    }

    /** An entry of the shared SPD (no interface). */
    public SpdEntry(String name, TrafficSelector local, TrafficSelector remote, SpdAction action, String connection,
            String child) {
        this(name, local, remote, action, connection, child, null);
    }

    /** A PROTECT entry for {@code connection}'s child {@code child}. */
    public static SpdEntry protect(String connection, String child, TrafficSelector local, TrafficSelector remote) {
        return new SpdEntry(connection + "/" + child, local, remote, SpdAction.PROTECT, connection, child);
    }

    /** This PROTECT entry in the SPD of {@code iface} (null: the shared SPD). */
    public SpdEntry onInterface(String iface) {
        return new SpdEntry(name, local, remote, action, connection, child, iface);
    }

    /** A BYPASS or DISCARD entry. */
    public static SpdEntry of(String name, TrafficSelector local, TrafficSelector remote, SpdAction action) {
        return new SpdEntry(name, local, remote, action, null, null);
    }

    /** Whether two selectors can form an entry: same family, and protocols equal or one of them any. */
    public static boolean compatible(TrafficSelector local, TrafficSelector remote) {
        return local.isIpv6() == remote.isIpv6()
                && (local.protocol() == TrafficSelector.ANY_PROTOCOL
                        || remote.protocol() == TrafficSelector.ANY_PROTOCOL
                        || local.protocol() == remote.protocol());
    }

    /** Whether {@code ipv6} is this entry's family. */
    public boolean isIpv6() {
        return local.isIpv6();
    }

    /**
     * Whether a packet matches, without allocating. Ports as in
     * {@link TrafficSelector#matches(int, byte[], int, boolean, int)}: pass
     * {@link TrafficSelector#NO_PORT} when unknown.
     */
    public boolean matches(int protocol, boolean ipv6, byte[] localAddr, int localOff, int localPort,
            byte[] remoteAddr, int remoteOff, int remotePort) {
        return remote.matches(protocol, remoteAddr, remoteOff, ipv6, remotePort)
                && local.matches(protocol, localAddr, localOff, ipv6, localPort);
    }

    /** Whether every packet {@code other} selects is also selected by this entry. */
    public boolean contains(SpdEntry other) {
        return local.contains(other.local) && remote.contains(other.remote);
    }

    /**
     * Whether some packet is selected by both entries: both local and both remote selectors
     * intersect, and the protocols of all four agree.
     */
    public boolean overlaps(SpdEntry other) {
        var l = local.intersect(other.local);
        var r = remote.intersect(other.remote);
        return l.isPresent() && r.isPresent() && compatible(l.get(), r.get());
    }

    /** Whether both entries do the same with a packet: same action and, for PROTECT, the same child. */
    public boolean sameOutcome(SpdEntry other) {
        return action == other.action && Objects.equals(connection, other.connection)
                && Objects.equals(child, other.child);
    }

    /** E.g. {@code site-b/net 10.1.0.0/16 === 10.2.0.0/16 PROTECT}. */
    @Override
    public String toString() {
        return name + " " + local + " === " + remote + " " + action + (iface == null ? "" : " on " + iface);
    }
}
