package dev.keel.ike.task;

import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.session.IkeSa;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * NAT detection in IKE_SA_INIT (RFC 7296 §2.23): each side sends SHA-1(SPIi | SPIr | IP | port)
 * of its own source and of the destination it sent to; a mismatch on receipt reveals a NAT.
 * When encapsulation is forced the source hash is random, which makes the peer see a NAT: the
 * RFC's sanctioned way to get ESP in UDP without one. After the exchange the initiator floats
 * the IKE SA to port 4500 when a NAT was found (either side) or encapsulation is forced.
 */
public final class NatDetectTask implements Task {

    private final IkeSa sa;
    private final boolean initiator;
    private boolean peerSentHashes;
    private boolean natHere;
    private boolean natThere;

    private NatDetectTask(IkeSa sa, boolean initiator) {
        this.sa = sa;
        this.initiator = initiator;
    }

    /** The initiator's half. */
    public static NatDetectTask initiator(IkeSa sa) {
        return new NatDetectTask(sa, true);
    }

    /** The responder's half. */
    public static NatDetectTask responder(IkeSa sa) {
        return new NatDetectTask(sa, false);
    }

    @Override
    public Status build(OutboundMessage m) {
        if (m.hasError() || (!initiator && !peerSentHashes)) {
            return Status.DONE; // no hashes for a peer that sent none (§2.23: it may not support NAT-T)
        }
        boolean fake = sa.connection() != null && sa.connection().encap();
        byte[] source = fake ? randomHash() : hash(local());
        m.notify(NotifyType.NAT_DETECTION_SOURCE_IP, source);
        m.notify(NotifyType.NAT_DETECTION_DESTINATION_IP, hash(sa.endpoints().remote()));
        if (!initiator) {
            sa.endpoints().nat(natHere, natThere || fake);
        }
        return Status.DONE;
    }

    @Override
    public Status process(IkeMessage m) {
        List<NotifyPayload> sources = m.payloads(NotifyPayload.class).stream()
                .filter(n -> n.notifyType() == NotifyType.NAT_DETECTION_SOURCE_IP).toList();
        var destination = m.notify(NotifyType.NAT_DETECTION_DESTINATION_IP);
        if (sources.isEmpty() || destination.isEmpty()) {
            return Status.DONE;
        }
        peerSentHashes = true;
        // a request is hashed with SPIr = 0; our hashes must use the SPIs the peer saw
        long spiR = m.header().isResponse() ? m.header().responderSpi() : 0;
        byte[] expectedDest = hash(local(), spiR);
        natHere = !MessageDigest.isEqual(destination.get().data(), expectedDest);
        byte[] expectedSource = hash(sa.endpoints().remote(), spiR);
        natThere = sources.stream().noneMatch(n -> MessageDigest.isEqual(n.data(), expectedSource));
        if (initiator) {
            boolean forced = sa.connection().encap();
            sa.endpoints().nat(natHere, natThere || forced);
            if (sa.endpoints().natDetected()) {
                sa.endpoints().floatToNatT();
            }
        }
        return Status.DONE;
    }

    private InetSocketAddress local() {
        try {
            return new InetSocketAddress(java.net.InetAddress.getByAddress(sa.endpoints().localAddress().bytes()),
                    sa.endpoints().localPort());
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private byte[] hash(InetSocketAddress endpoint) {
        return hash(endpoint, sa.spiR());
    }

    private byte[] hash(InetSocketAddress endpoint, long spiR) {
        return hash(sa.spiI(), spiR, endpoint);
    }

    /** SHA-1(SPIi | SPIr | IP | port), RFC 7296 §2.23: network byte order, the IP's 4 or 16 bytes. */
    static byte[] hash(long spiI, long spiR, InetSocketAddress endpoint) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            sha1.update(ByteBuffer.allocate(16).putLong(spiI).putLong(spiR).array());
            sha1.update(endpoint.getAddress().getAddress());
            sha1.update(new byte[] {(byte) (endpoint.getPort() >>> 8), (byte) endpoint.getPort()});
            return sha1.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is a required JCA algorithm", e);
        }
    }

    private byte[] randomHash() {
        byte[] h = new byte[20];
        sa.env().random().nextBytes(h);
        return h;
    }
}
