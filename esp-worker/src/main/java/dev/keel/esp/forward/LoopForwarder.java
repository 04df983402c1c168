package dev.keel.esp.forward;

import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.esp.net.DatagramReceiver;
import dev.keel.esp.net.IkeHandoff;
import dev.keel.esp.net.LoopDatagramChannel;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EncapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.packet.EspDecapsulator;
import dev.keel.esp.packet.EspEncapsulator;
import dev.keel.esp.packet.EspInUdp;
import dev.keel.esp.plain.PlaintextQueue;
import dev.keel.esp.plain.PlaintextReceiver;
import dev.keel.esp.sa.InboundSaTable;
import io.netty.buffer.ByteBuf;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The forwarding path of one event loop; everything here runs on that loop's thread, with its
 * own encapsulator, decapsulator, packet buffer and (through the SAs' thread-locals) ciphers.
 *
 * <ul>
 *   <li>Outbound: plaintext packet → parse → {@link RouteTable} → ESP encapsulation → queued on
 *       this loop's UDP socket to the route's peer; one flush per plaintext read batch.
 *   <li>Inbound: UDP datagram → {@link EspInUdp#classify}: IKE → {@link IkeHandoff}; NAT
 *       keepalive → counted; ESP → decapsulation (SPI, replay, ICV, selectors) → queued on
 *       this loop's plaintext queue; one flush per UDP read batch.
 * </ul>
 *
 * No locks and nothing remote per packet; the route table and SA table are lock-free reads.
 */
final class LoopForwarder {

    private final ForwardMode mode;
    private final RouteTable routes;
    private final IkeHandoff ike;
    private final ForwardCounters counters;
    private final EspEncapsulator encap;
    private final EspDecapsulator decap;
    private final IpPacketInfo info = new IpPacketInfo();
    /** Receive buffer of the outer side (the plaintext side brings its own). */
    private final PacketBuffer outerPkt;
    private final byte[] localAddress;
    private final int localPort;

    private LoopDatagramChannel udp;
    private PlaintextQueue plain;

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
            if (plain != null) {
                plain.flush();
            }
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
        this.mode = mode;
        this.routes = routes;
        this.ike = ike;
        this.counters = counters;
        this.encap = new EspEncapsulator(espCounters);
        this.decap = new EspDecapsulator(inbound, espCounters);
        this.outerPkt = new PacketBuffer(maxDatagram);
        this.localAddress = local.getAddress().getAddress();
        this.localPort = local.getPort();
    }

    /** Called on the loop once both sides are open. */
    void attach(LoopDatagramChannel udp, PlaintextQueue plain) {
        this.udp = udp;
        this.plain = plain;
    }

    LoopDatagramChannel udp() {
        return udp;
    }

    void fromPlaintext(PacketBuffer pkt) {
        counters.plaintextIn.increment();
        byte[] buf = pkt.data();
        if (!info.parse(buf, pkt.offset(), pkt.length())) {
            counters.drop(ForwardDrop.NOT_IP);
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
        LoopDatagramChannel u = udp;
        if (u != null && u.send(buf, pkt.offset(), pkt.length(), route.peer())) {
            counters.outerOut.increment();
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
            deliver(pkt);
            return;
        }
        switch (EspInUdp.classify(buf, off, len)) {
            case ESP -> {
                noteEndpoints(pkt, sender);
                if (decap.decapsulate(pkt) == DecapOutcome.DELIVERED) {
                    deliver(pkt);
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

    private void deliver(PacketBuffer pkt) {
        PlaintextQueue p = plain;
        if (p != null && p.write(pkt)) {
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
