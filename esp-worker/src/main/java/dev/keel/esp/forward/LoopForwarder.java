package dev.keel.esp.forward;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.spd.Spd;
import dev.keel.core.spd.SpdEntry;
import dev.keel.esp.acquire.AcquireLimiter;
import dev.keel.esp.feed.SpdTable;
import dev.keel.esp.net.DatagramReceiver;
import dev.keel.esp.net.IkeHandoff;
import dev.keel.esp.net.UnknownSpiListener;
import dev.keel.esp.net.LoopDatagramChannel;
import dev.keel.esp.packet.AhDecapsulator;
import dev.keel.esp.packet.AhEncapsulator;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EncapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.packet.EspDecapsulator;
import dev.keel.esp.packet.EspEncapsulator;
import dev.keel.esp.packet.EspInUdp;
import dev.keel.esp.plain.PlaintextQueue;
import dev.keel.esp.plain.PlaintextReceiver;
import dev.keel.esp.raw.RawEspTransport;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.esp.sa.OutboundSaTable;
import io.netty.buffer.ByteBuf;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The forwarding path of one event loop; everything here runs on that loop's thread, with its
 * own encapsulator, decapsulator, packet buffer and (through the SAs' thread-locals) ciphers.
 *
 * <ul>
 *   <li>Outbound with static SAs: plaintext packet → parse → {@link RouteTable} → ESP
 *       encapsulation → queued on this loop's UDP socket to the route's peer; one flush per
 *       plaintext read batch.
 *   <li>Outbound with fed tables: plaintext packet → parse → SPD ({@link SpdTable}, first match,
 *       RFC 4301 §5.1) → PROTECT: the child's SA from {@link OutboundSaTable}, encrypted and sent
 *       to the SA's peer, or without an SA an acquire ({@link AcquireLimiter}) and a counted drop;
 *       BYPASS: sent on in clear to the clear path; DISCARD or no match: counted drop.
 *   <li>Route-based interfaces (outlets 1..n beside the shared side, 0): a packet read from one
 *       is looked up in that interface's own SPD ({@link SpdTable#forOutlet}), and what an SA of
 *       outlet {@code i} decrypts is written to interface {@code i} (docs/gateway.md, "Route-based
 *       connections").
 *   <li>Inbound: UDP datagram → {@link EspInUdp#classify}: IKE → {@link IkeHandoff}; NAT
 *       keepalive → counted; ESP → decapsulation (SPI, replay, ICV, selectors) → queued on
 *       its SA's outlet's plaintext queue; one flush per UDP read batch. ESP whose SPI has no SA here
 *       is reported to an {@link UnknownSpiListener} (raw ESP comes through here too).
 * </ul>
 *
 * No locks and nothing remote per packet; the route table and SA table are lock-free reads.
 */
final class LoopForwarder {

    private final ForwardMode mode;
    private final RouteTable routes;
    /** Non-null when the SPD and the fed SA tables drive the outbound path. */
    private final SpdTable spd;
    private final OutboundSaTable outboundSas;
    private final AcquireLimiter acquires;
    private final InetSocketAddress clearPath;
    private final IkeHandoff ike;
    private final UnknownSpiListener unknownSpi;
    private final ForwardCounters counters;
    private final EspEncapsulator encap;
    private final EspDecapsulator decap;
    private final AhEncapsulator ahEncap;
    private final AhDecapsulator ahDecap;
    private final EspCounters espCounters;
    /** Inbound packets above their SA's accept limit, waiting for its next replay checkpoint. */
    private final HeldPackets held;
    /** Where a held packet is copied back to for delivery. */
    private final PacketBuffer releasePkt;
    private boolean releaseScheduled;
    private final IpPacketInfo info = new IpPacketInfo();
    /** Receive buffer of the outer side (the plaintext side brings its own). */
    private final PacketBuffer outerPkt;
    private final byte[] localAddress;
    private final int localPort;

    private LoopDatagramChannel udp;
    /**
     * Every outlet's queue: 0 the shared plaintext side, {@code i} the
     * {@code i}-th route-based interface (docs/gateway.md, "Route-based connections").
     */
    private PlaintextQueue[] outlets = new PlaintextQueue[1];
    /** Non-null when ESP goes out as raw IP protocol 50 instead of ESP-in-UDP. */
    private RawEspTransport.Sender raw;
    /** Non-null when this node has raw AH sockets (IP protocol 51) for its AH SAs. */
    private RawEspTransport.Sender rawAh;
    /** The AH peer last sent to and its address bytes, so a packet does not allocate them. */
    private InetAddress lastAhPeer;
    private byte[] lastAhPeerBytes;
    private InetAddress lastAhSender;
    private byte[] lastAhSenderBytes;

    private InetAddress lastSender;
    private int lastSenderPort = -1;

    final DatagramReceiver outerReceiver = new DatagramReceiver() {
        @Override
        public void onDatagram(ByteBuf payload, InetSocketAddress sender) {
            fromOuter(payload, sender);
        }

        @Override
        public void onBatchEnd() {
            counters.outerBatches.increment();
            if (held.size() > 0) {
                releaseHeld(); // a checkpoint answered meanwhile: before this batch's packets leave
            }
            flushOutlets();
        }
    };

    /** Receives what the raw AH socket read: IPv4 packets with their IP header, IPv6 ones from the AH header on. */
    final DatagramReceiver ahReceiver = new DatagramReceiver() {
        @Override
        public void onDatagram(ByteBuf payload, InetSocketAddress sender) {
            fromAh(payload, sender);
        }

        @Override
        public void onBatchEnd() {
            outerReceiver.onBatchEnd();
        }
    };

    final PlaintextReceiver plainReceiver = new PlaintextReceiver() {
        @Override
        public void onPacket(PacketBuffer packet) {
            fromPlaintext(packet);
        }

        @Override
        public void onBatchEnd() {
            counters.plaintextBatches.increment();
            if (udp != null) {
                udp.flush();
            }
        }
    };

    LoopForwarder(ForwardMode mode, RouteTable routes, InboundSaTable inbound, IkeHandoff ike,
            ForwardCounters counters, EspCounters espCounters, int maxDatagram, InetSocketAddress local) {
        this(mode, routes, null, null, null, null, inbound, ike, counters, espCounters, maxDatagram, local,
                UnknownSpiListener.NONE);
    }

    /**
     * A forwarder whose outbound path follows the SPD.
     *
     * @param clearPath where BYPASS packets go (as UDP datagrams: the virtual wire of the outer
     *                  side), or null to drop them as {@link ForwardDrop#NO_CLEAR_PATH}
     * @param unknownSpi told of inbound ESP whose SPI has no SA here
     */
    LoopForwarder(SpdTable spd, OutboundSaTable outboundSas, AcquireLimiter acquires, InetSocketAddress clearPath,
            InboundSaTable inbound, IkeHandoff ike, ForwardCounters counters, EspCounters espCounters, int maxDatagram,
            InetSocketAddress local, UnknownSpiListener unknownSpi) {
        this(ForwardMode.ESP, new RouteTable(), spd, outboundSas, acquires, clearPath, inbound, ike, counters,
                espCounters, maxDatagram, local, unknownSpi);
    }

    private LoopForwarder(ForwardMode mode, RouteTable routes, SpdTable spd, OutboundSaTable outboundSas,
            AcquireLimiter acquires, InetSocketAddress clearPath, InboundSaTable inbound, IkeHandoff ike,
            ForwardCounters counters, EspCounters espCounters, int maxDatagram, InetSocketAddress local,
            UnknownSpiListener unknownSpi) {
        this.mode = mode;
        this.routes = routes;
        this.spd = spd;
        this.outboundSas = outboundSas;
        this.acquires = acquires;
        this.clearPath = clearPath;
        this.ike = ike;
        this.unknownSpi = unknownSpi;
        this.counters = counters;
        this.encap = new EspEncapsulator(espCounters);
        this.decap = new EspDecapsulator(inbound, espCounters);
        this.ahEncap = new AhEncapsulator(espCounters);
        this.ahDecap = new AhDecapsulator(inbound, espCounters);
        this.espCounters = espCounters;
        this.held = new HeldPackets(espCounters);
        this.releasePkt = new PacketBuffer(HeldPackets.SLOT_BYTES);
        this.outerPkt = new PacketBuffer(maxDatagram);
        this.localAddress = local.getAddress().getAddress();
        this.localPort = local.getPort();
    }

    /** Called on the loop once both sides are open. */
    void attach(LoopDatagramChannel udp, PlaintextQueue plain) {
        attach(udp, plain, List.of());
    }

    /**
     * Called on the loop once both sides and every route-based interface's queue ({@code routed},
     * outlet 1..n) are open.
     */
    void attach(LoopDatagramChannel udp, PlaintextQueue plain, List<PlaintextQueue> routed) {
        PlaintextQueue[] all = new PlaintextQueue[1 + routed.size()];
        all[0] = plain;
        for (int i = 0; i < routed.size(); i++) {
            all[i + 1] = routed.get(i);
        }
        this.udp = udp;
        this.outlets = all;
    }

    /**
     * The receiver of route-based interface {@code outlet} (1..n) on this loop: what the kernel
     * routed into that interface goes through that interface's own SPD ({@link SpdTable#forOutlet}),
     * which holds only its connection's entries.
     */
    PlaintextReceiver routedReceiver(int outlet) {
        return new PlaintextReceiver() {
            @Override
            public void onPacket(PacketBuffer packet) {
                fromOutlet(packet, outlet);
            }

            @Override
            public void onBatchEnd() {
                plainReceiver.onBatchEnd();
            }
        };
    }

    private void flushOutlets() {
        for (PlaintextQueue q : outlets) {
            if (q != null) {
                q.flush();
            }
        }
    }

    LoopDatagramChannel udp() {
        return udp;
    }

    /**
     * Sends ESP as raw IP protocol 50 through {@code sender}: every packet of a static node, and
     * on a fed node those of SAs whose peer port is 0. Call before the forwarder is attached.
     */
    void useRawEsp(RawEspTransport.Sender sender) {
        this.raw = sender;
    }

    /** Sends AH SAs' packets as raw IP protocol 51 through {@code sender}; called on this forwarder's loop. */
    void useRawAh(RawEspTransport.Sender sender) {
        this.rawAh = sender;
    }

    /** Sends an ESP packet on the outer transport: raw ESP when configured, else this loop's UDP socket. */
    private void sendEsp(byte[] buf, int off, int len, InetSocketAddress to) {
        RawEspTransport.Sender r = raw;
        if (r != null) {
            if (r.send(buf, off, len, to)) {
                counters.outerOut.increment();
            }
            return;
        }
        LoopDatagramChannel u = udp;
        if (u != null && u.send(buf, off, len, to)) {
            counters.outerOut.increment();
        }
    }

    void fromPlaintext(PacketBuffer pkt) {
        fromOutlet(pkt, 0);
    }

    /** A plaintext packet read from {@code outlet}: 0 the shared side, else that route-based interface. */
    void fromOutlet(PacketBuffer pkt, int outlet) {
        counters.plaintextIn.increment();
        byte[] buf = pkt.data();
        if (!info.parse(buf, pkt.offset(), pkt.length())) {
            counters.drop(ForwardDrop.NOT_IP);
            return;
        }
        if (spd != null) {
            byPolicy(pkt, buf, spd.forOutlet(outlet));
            return;
        }
        Route route = routes.lookup(buf, info);
        if (route == null) {
            counters.drop(ForwardDrop.NO_ROUTE);
            return;
        }
        if (mode == ForwardMode.ESP) {
            if (route.sa() == null) {
                counters.drop(ForwardDrop.NO_SA);
                return;
            }
            if (encap.encapsulate(route.sa(), pkt, info) != EncapOutcome.PROTECTED) {
                return; // counted by EspCounters
            }
        }
        if (mode == ForwardMode.ESP) {
            sendEsp(buf, pkt.offset(), pkt.length(), route.peer());
            return;
        }
        LoopDatagramChannel u = udp;
        if (u != null && u.send(buf, pkt.offset(), pkt.length(), route.peer())) {
            counters.outerOut.increment();
        }
    }

    private void byPolicy(PacketBuffer pkt, byte[] buf, Spd policies) {
        SpdEntry entry = policies.lookupOutbound(info, buf);
        if (entry == null) {
            counters.drop(ForwardDrop.NO_POLICY);
            return;
        }
        InetSocketAddress to;
        switch (entry.action()) {
            case PROTECT -> {
                OutboundSa sa = outboundSas.lookup(entry.name());
                if (sa == null || sa.isClosed()) {
                    acquires.onMiss(entry, info, buf);
                    counters.drop(ForwardDrop.NO_SA);
                    return;
                }
                if (sa.spec().protocol() == Protocol.AH) {
                    protectAh(pkt, sa);
                    return;
                }
                if (encap.encapsulate(sa, pkt, info) != EncapOutcome.PROTECTED) {
                    return; // counted by EspCounters (and per SA for lease and expiry drops)
                }
                to = sa.peer();
            }
            case BYPASS -> {
                to = clearPath;
                if (to == null) {
                    counters.drop(ForwardDrop.NO_CLEAR_PATH);
                    return;
                }
                counters.bypassed.increment();
            }
            default -> {
                counters.drop(ForwardDrop.POLICY_DISCARD);
                return;
            }
        }
        if (to.getPort() == 0) { // an SA without UDP encapsulation (sa.proto Endpoint: port 0 is raw ESP)
            RawEspTransport.Sender r = raw;
            if (r == null) {
                counters.drop(ForwardDrop.NO_RAW_ESP);
            } else if (r.send(buf, pkt.offset(), pkt.length(), to)) {
                counters.outerOut.increment();
            }
            return;
        }
        LoopDatagramChannel u = udp;
        if (u != null && u.send(buf, pkt.offset(), pkt.length(), to)) {
            counters.outerOut.increment();
        }
    }

    /** AH (RFC 4302) out: the whole IP packet, outer header included, on the raw AH socket. */
    private void protectAh(PacketBuffer pkt, OutboundSa sa) {
        RawEspTransport.Sender r = rawAh;
        InetSocketAddress to = sa.peer();
        InetAddress peer = to.getAddress();
        if (!peer.equals(lastAhPeer)) {
            lastAhPeerBytes = peer.getAddress();
            lastAhPeer = peer;
        }
        if (r == null || lastAhPeerBytes.length != localAddress.length) {
            counters.drop(ForwardDrop.NO_RAW_AH);
            return;
        }
        if (ahEncap.encapsulate(sa, pkt, info, localAddress, lastAhPeerBytes) != EncapOutcome.PROTECTED) {
            return; // counted by EspCounters
        }
        if (r.send(pkt.data(), pkt.offset(), pkt.length(), to)) {
            counters.outerOut.increment();
        }
    }

    /**
     * AH in: an IPv4 packet as read, or an IPv6 one whose base header the kernel kept back and is
     * rebuilt here (sender, this node's address, length; the mutable fields zero as the ICV wants them).
     */
    void fromAh(ByteBuf payload, InetSocketAddress sender) {
        counters.outerIn.increment();
        PacketBuffer pkt = outerPkt;
        pkt.reset();
        int len = payload.readableBytes();
        boolean v6 = sender.getAddress() instanceof Inet6Address;
        int hdr = v6 ? 40 : 0;
        if (len + hdr > pkt.tailroom() || (v6 && len > 0xffff)) {
            counters.drop(ForwardDrop.OVERSIZE);
            return;
        }
        byte[] buf = pkt.data();
        int off = pkt.offset();
        payload.getBytes(payload.readerIndex(), buf, off + hdr, len);
        if (v6) {
            InetAddress a = sender.getAddress();
            if (!a.equals(lastAhSender)) {
                lastAhSenderBytes = a.getAddress();
                lastAhSender = a;
            }
            if (localAddress.length != 16) {
                counters.drop(ForwardDrop.NO_RAW_AH);
                return;
            }
            Arrays.fill(buf, off, off + 8, (byte) 0);
            buf[off] = 0x60;
            BigEndian.putU16(buf, off + 4, len);
            buf[off + 6] = (byte) IpPacketInfo.PROTO_AH;
            System.arraycopy(lastAhSenderBytes, 0, buf, off + 8, 16);
            System.arraycopy(localAddress, 0, buf, off + 24, 16);
        }
        pkt.bounds(off, len + hdr);
        DecapOutcome outcome = ahDecap.decapsulate(pkt);
        if (outcome == DecapOutcome.DELIVERED) {
            deliver(pkt, ahDecap.outlet());
        } else if (outcome == DecapOutcome.HELD) {
            hold(pkt, ahDecap.heldSa(), ahDecap.heldSequence());
        }
    }

    void fromOuter(ByteBuf payload, InetSocketAddress sender) {
        counters.outerIn.increment();
        PacketBuffer pkt = outerPkt;
        pkt.reset();
        int len = payload.readableBytes();
        if (len > pkt.tailroom()) {
            counters.drop(ForwardDrop.OVERSIZE);
            return;
        }
        byte[] buf = pkt.data();
        int off = pkt.offset();
        payload.getBytes(payload.readerIndex(), buf, off, len);
        pkt.bounds(off, len);
        if (mode == ForwardMode.RELAY) {
            deliver(pkt, 0);
            return;
        }
        switch (EspInUdp.classify(buf, off, len)) {
            case ESP -> {
                noteEndpoints(pkt, sender);
                DecapOutcome outcome = decap.decapsulate(pkt);
                if (outcome == DecapOutcome.DELIVERED) {
                    deliver(pkt, decap.outlet());
                } else if (outcome == DecapOutcome.HELD) {
                    hold(pkt, decap.heldSa(), decap.heldSequence());
                } else if (outcome == DecapOutcome.UNKNOWN_SPI) { // another node may own it (docs/ha.md)
                    unknownSpi.onUnknownSpi(BigEndian.getInt(buf, off), sender);
                }
            }
            case IKE -> {
                counters.ikeHandedOff.increment();
                ike.onIkeMessage(buf, off + EspInUdp.NON_ESP_MARKER_LENGTH, len - EspInUdp.NON_ESP_MARKER_LENGTH, sender);
            }
            case NAT_KEEPALIVE -> counters.keepalivesReceived.increment();
            case MALFORMED -> counters.drop(ForwardDrop.MALFORMED_DATAGRAM);
        }
    }

    /** Keeps a {@link DecapOutcome#HELD} packet for its SA's next checkpoint, or drops it. */
    private void hold(PacketBuffer pkt, InboundSa heldSa, long heldSequence) {
        LoopDatagramChannel u = udp;
        if (u == null || !held.offer(heldSa, heldSequence, pkt.data(), pkt.offset(), pkt.length(),
                System.nanoTime())) {
            heldSa.countDrop();
            espCounters.count(DecapOutcome.CHECKPOINT_BEHIND);
            return;
        }
        if (!releaseScheduled) {
            releaseScheduled = true;
            u.eventLoop().schedule(this::releaseTick, RELEASE_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    /** How often held packets are offered to their windows again while any are kept. */
    private static final long RELEASE_MILLIS = 2;

    private void releaseTick() {
        releaseScheduled = false;
        releaseHeld();
        flushOutlets();
        LoopDatagramChannel u = udp;
        if (held.size() > 0 && u != null) {
            releaseScheduled = true;
            u.eventLoop().schedule(this::releaseTick, RELEASE_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private void releaseHeld() {
        held.release(System.nanoTime(), releaseOutlet);
    }

    private final HeldPackets.Outlet releaseOutlet = this::deliverReleased;

    private void deliverReleased(byte[] packet, int length, int outlet) {
        PacketBuffer r = releasePkt;
        r.reset();
        System.arraycopy(packet, 0, r.data(), r.offset(), length);
        r.bounds(r.offset(), length);
        deliver(r, outlet);
    }

    /** Writes a decrypted packet to its SA's outlet: the shared side (0) or its route-based interface. */
    private void deliver(PacketBuffer pkt, int outlet) {
        PlaintextQueue[] qs = outlets;
        PlaintextQueue p = outlet < qs.length ? qs[outlet] : null;
        if (p == null) {
            if (outlet != 0) {
                counters.drop(ForwardDrop.NO_INTERFACE);
            } // the shared side before attach: as before, nothing to write to
            return;
        }
        if (p.write(pkt)) {
            counters.plaintextOut.increment();
        }
    }

    /** Outer endpoints for transport mode; the sender's bytes are fetched only when it changes. */
    private void noteEndpoints(PacketBuffer pkt, InetSocketAddress sender) {
        InetAddress a = sender.getAddress();
        int port = sender.getPort();
        if (port != lastSenderPort || !a.equals(lastSender)) {
            byte[] src = a.getAddress();
            if (src.length == localAddress.length) {
                pkt.endpoints(src, localAddress, port, localPort);
            }
            lastSender = a;
            lastSenderPort = port;
        }
    }

    /** Sends one NAT keepalive (RFC 3948 §2.3) to {@code peer}; the caller flushes. */
    void sendKeepalive(InetSocketAddress peer, byte[] scratch) {
        int n = EspInUdp.writeNatKeepalive(scratch, 0);
        LoopDatagramChannel u = udp;
        if (u != null && u.send(scratch, 0, n, peer)) {
            counters.keepalivesSent.increment();
        }
    }
}
