package dev.keel.ike.task;

import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.session.IkeEndpoints;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.ike.session.Task;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MOBIKE (RFC 4555) on an IKE SA that negotiated it: the responder's part of every INFORMATIONAL
 * request (UPDATE_SA_ADDRESSES moves the IKE SA to the request's IP header addresses, §3.5; COOKIE2
 * is echoed, §3.7), and two requests of ours: the return routability check of a peer's new address
 * (an INFORMATIONAL with COOKIE2, §3.7) and our own UPDATE_SA_ADDRESSES when our address or NAT
 * changed (§3.5). CHILD SAs follow a move once the peer's new address passed the check
 * ({@link IkeEndpoints#routabilityPending}; the node moves them in the SAD on the exchange's state write).
 */
public final class MobikeTask implements Task {

    private static final Logger LOG = LoggerFactory.getLogger(MobikeTask.class);
    /** COOKIE2's data is 8 to 64 octets (RFC 4555's COOKIE2 notify); 16 random ones. */
    private static final int COOKIE2_LENGTH = 16;

    private enum Kind { RESPONDER, CHECK, UPDATE, LIVENESS }

    private final IkeSa sa;
    private final Kind kind;
    /** Responder: the request's COOKIE2 to echo. Initiator: the one we sent. */
    private byte[] cookie2;
    /** Responder: the request had NAT detection, which the response answers. */
    private boolean answerNatDetection;
    /** Responder: refused with UNEXPECTED_NAT_DETECTED (§3.9, the peer sent NO_NATS_ALLOWED). */
    private boolean natRefused;
    /** Check: the peer address it checks (the peer may have moved on meanwhile). */
    private InetSocketAddress checked;

    private MobikeTask(IkeSa sa, Kind kind) {
        this.sa = sa;
        this.kind = kind;
    }

    /** The responder's part of an INFORMATIONAL request on a MOBIKE IKE SA. */
    public static MobikeTask responder(IkeSa sa) {
        return new MobikeTask(sa, Kind.RESPONDER);
    }

    /** A return routability check of the peer's current address (RFC 4555 §3.7). */
    public static MobikeTask routabilityCheck(IkeSa sa) {
        return new MobikeTask(sa, Kind.CHECK);
    }

    /** Our UPDATE_SA_ADDRESSES from the address and port we send from now (RFC 4555 §3.5). */
    public static MobikeTask update(IkeSa sa) {
        return new MobikeTask(sa, Kind.UPDATE);
    }

    /**
     * A liveness check (DPD) of an IKE SA behind a NAT, with NAT detection: the peer's answer hashes
     * where our request came from, so a NAT mapping that changed shows, and we send
     * UPDATE_SA_ADDRESSES from the new one (strongSwan does the same; with MOBIKE the peer follows
     * nothing else).
     */
    public static MobikeTask liveness(IkeSa sa) {
        return new MobikeTask(sa, Kind.LIVENESS);
    }

    @Override
    public Status build(OutboundMessage m) {
        if (kind == Kind.LIVENESS) {
            addNatDetection(m, sa.endpoints().remote());
            return Status.DONE;
        }
        if (kind == Kind.RESPONDER) {
            if (natRefused) {
                m.notify(NotifyType.UNEXPECTED_NAT_DETECTED);
            } else if (answerNatDetection) { // of where the request came from: the peer learns its mapping changed
                addNatDetection(m, sa.requestSource());
            }
            if (cookie2 != null) {
                m.notify(NotifyType.COOKIE2, cookie2);
            }
            return Status.DONE;
        }
        if (kind == Kind.UPDATE) {
            m.notify(NotifyType.UPDATE_SA_ADDRESSES);
            addNatDetection(m, sa.endpoints().remote());
        }
        checked = sa.endpoints().remote();
        cookie2 = new byte[COOKIE2_LENGTH];
        sa.env().random().nextBytes(cookie2);
        m.notify(NotifyType.COOKIE2, cookie2);
        return Status.DONE;
    }

    /**
     * Our requests, queued behind an IKE rekey, go on the new IKE SA (RFC 7296 §2.8: the peer moves
     * its CHILD SAs and addresses only there): an UPDATE_SA_ADDRESSES left on the old one would move
     * an IKE SA about to be deleted, and a return routability check left there would let the new
     * one's CHILD SAs follow an unchecked address (RFC 4555 §3.7), so the check is due there again.
     */
    @Override
    public Task movedTo(IkeSa next) {
        return switch (kind) {
            case RESPONDER -> null; // answers a request, never queued
            case CHECK -> {
                next.endpoints().routabilityDue();
                yield routabilityCheck(next);
            }
            case UPDATE -> update(next);
            case LIVENESS -> liveness(next);
        };
    }

    @Override
    public Status process(IkeMessage m) {
        if (kind != Kind.RESPONDER && cookie2 != null && !echoesCookie2(m)) {
            // §3.7: "If the values do not match, the IKE_SA MUST be closed" (strongSwan: "COOKIE2 mismatch")
            sa.noteFailure("MOBIKE: the peer's response did not echo our COOKIE2");
            LOG.warn("{}: MOBIKE: the response to our {} did not echo our COOKIE2; closing the IKE SA", sa,
                    kind == Kind.CHECK ? "return routability check" : "UPDATE_SA_ADDRESSES");
            return Status.FAILED;
        }
        return switch (kind) {
            case RESPONDER -> processRequest(m);
            case CHECK -> {
                if (checked.equals(sa.endpoints().remote())) { // else a later move's own check is under way
                    sa.endpoints().routabilityChecked();
                    LOG.info("{}: MOBIKE: peer's address {} passed the return routability check", sa, checked);
                }
                yield Status.DONE;
            }
            case UPDATE -> processUpdateResponse(m);
            case LIVENESS -> processLivenessResponse(m);
        };
    }

    private boolean echoesCookie2(IkeMessage response) {
        Optional<NotifyPayload> echoed = response.notify(NotifyType.COOKIE2);
        return echoed.isPresent() && MessageDigest.isEqual(echoed.get().data(), cookie2);
    }

    private Status processRequest(IkeMessage m) {
        cookie2 = m.notify(NotifyType.COOKIE2).map(n -> n.data().clone()).orElse(null);
        // a peer behind a NAT sends NAT detection in its liveness checks to learn of a changed mapping, which it
        // then reports with UPDATE_SA_ADDRESSES (strongSwan does); it gets ours whenever it sent its own
        answerNatDetection = m.notify(NotifyType.NAT_DETECTION_DESTINATION_IP).isPresent();
        if (m.notify(NotifyType.UPDATE_SA_ADDRESSES).isEmpty()) {
            return Status.DONE; // §3.5: nothing else moves a MOBIKE IKE SA, whatever address it came from
        }
        InetSocketAddress from = sa.requestSource();
        int port = sa.requestLocalPort();
        IkeEndpoints ends = sa.endpoints();
        Nat nat = detect(m, local(port), from);
        boolean here = nat == null ? ends.natHere() : nat.here();
        boolean there = nat == null ? ends.natThere() : nat.there();
        if (m.notify(NotifyType.NO_NATS_ALLOWED).isPresent() && nat != null && (nat.here() || nat.there())) {
            natRefused = true; // §3.9: the peer does not want its addresses changed by a NAT; the IKE SA stays
            answerNatDetection = false;
            LOG.info("{}: MOBIKE: update from {} refused, NO_NATS_ALLOWED but a NAT is in the path", sa, from);
            return Status.DONE;
        }
        InetSocketAddress was = ends.remote();
        boolean moved = !from.equals(was) || port != ends.localPort();
        // encap: yes fakes a NAT in our own hashes, so that ESP stays in UDP (RFC 7296 §2.23)
        boolean forced = sa.connection().encap();
        ends.moveTo(from, port, here, there || forced, moved || ends.routabilityPending());
        LOG.info("{}: MOBIKE: UPDATE_SA_ADDRESSES from {} (was {}); NAT here {}, there {}", sa, from, was, here, there);
        if (ends.routabilityPending()) {
            // §3.7: the new address must answer before ESP goes there; after our response has left
            sa.tasks().afterResponse(() -> sa.tasks().queue(ExchangeType.INFORMATIONAL,
                    routabilityCheck(sa)));
        }
        return Status.DONE;
    }

    private Status processUpdateResponse(IkeMessage m) {
        if (m.notify(NotifyType.UNEXPECTED_NAT_DETECTED).isPresent()
                || m.notify(NotifyType.UNACCEPTABLE_ADDRESSES).isPresent()) {
            LOG.warn("{}: MOBIKE: the peer refused our UPDATE_SA_ADDRESSES ({})", sa,
                    m.payloads(NotifyPayload.class).stream().filter(NotifyPayload::isError).map(NotifyPayload::notifyType)
                            .toList());
            return Status.DONE;
        }
        IkeEndpoints ends = sa.endpoints();
        Nat nat = detect(m, local(ends.localPort()), ends.remote());
        if (nat != null) {
            ends.moveTo(ends.remote(), ends.localPort(), nat.here(), nat.there() || sa.connection().encap(), false);
            if (ends.natDetected()) {
                ends.floatToNatT();
            }
        }
        LOG.info("{}: MOBIKE: peer took our UPDATE_SA_ADDRESSES; NAT here {}, there {}", sa, ends.natHere(),
                ends.natThere());
        return Status.DONE;
    }

    private Status processLivenessResponse(IkeMessage m) {
        Optional<NotifyPayload> destination = m.notify(NotifyType.NAT_DETECTION_DESTINATION_IP);
        if (destination.isEmpty()) {
            return Status.DONE; // a peer that does not answer NAT detection here tells us nothing of our mapping
        }
        byte[] was = sa.endpoints().mappingHash();
        sa.endpoints().mappingHash(destination.get().data());
        if (was != null && !MessageDigest.isEqual(was, destination.get().data())) {
            LOG.info("{}: MOBIKE: the NAT in front of us changed our mapping; sending UPDATE_SA_ADDRESSES", sa);
            sa.tasks().queue(ExchangeType.INFORMATIONAL, update(sa));
        }
        return Status.DONE;
    }

    /** What NAT detection in {@code m} says about the path between {@code local} and {@code remote}; null without it. */
    private Nat detect(IkeMessage m, InetSocketAddress local, InetSocketAddress remote) {
        List<NotifyPayload> sources = m.payloads(NotifyPayload.class).stream()
                .filter(n -> n.notifyType() == NotifyType.NAT_DETECTION_SOURCE_IP).toList();
        Optional<NotifyPayload> destination = m.notify(NotifyType.NAT_DETECTION_DESTINATION_IP);
        if (sources.isEmpty() || destination.isEmpty()) {
            return null;
        }
        boolean here = !MessageDigest.isEqual(destination.get().data(), hash(local));
        byte[] source = hash(remote);
        boolean there = sources.stream().noneMatch(n -> MessageDigest.isEqual(n.data(), source));
        return new Nat(here, there);
    }

    private record Nat(boolean here, boolean there) {
    }

    /** NAT_DETECTION_SOURCE_IP of our endpoint (random when encapsulation is forced) and DESTINATION_IP of {@code to}. */
    private void addNatDetection(OutboundMessage m, InetSocketAddress to) {
        byte[] source;
        if (sa.connection().encap()) {
            source = new byte[20];
            sa.env().random().nextBytes(source);
        } else {
            source = hash(local(sa.endpoints().localPort()));
        }
        m.notify(NotifyType.NAT_DETECTION_SOURCE_IP, source);
        m.notify(NotifyType.NAT_DETECTION_DESTINATION_IP, hash(to));
    }

    private byte[] hash(InetSocketAddress endpoint) {
        return NatDetectTask.hash(sa.spiI(), sa.spiR(), endpoint);
    }

    private InetSocketAddress local(int port) {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(sa.endpoints().localAddress().bytes()), port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
