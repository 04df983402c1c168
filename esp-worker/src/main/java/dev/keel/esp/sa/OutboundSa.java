package dev.keel.esp.sa;

import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * An outbound ESP SA: hands out sequence numbers in order and stops before the counter would
 * wrap (RFC 4303 §3.3.3), telling its owner once that the SA needs rekeying.
 *
 * <p>Two sources of numbers. A statically keyed SA counts on its own from its first number. A
 * {@linkplain #leased leased} SA (DESIGN §4: the IV derives from the sequence number, so a
 * number must never be used twice anywhere in the cluster) only uses numbers from blocks
 * sad-service leased to this node: the current block, and a pending one asked for when the
 * current block is {@linkplain LeaseRequester half used}. The request runs off the packet path;
 * when the current block runs out before the next one arrived, {@link #nextSequence} returns 0
 * and the packet is dropped, never given a number twice.
 */
public final class OutboundSa extends EspSa {

    /** Asks sad-service for the next block of an SA; called on the packet path, so it must not block. */
    @FunctionalInterface
    public interface LeaseRequester {
        void requestLease(OutboundSa sa);
    }

    /** A leased block [start, end); numbers are taken with one atomic increment. */
    private static final class Block {
        final long end;
        final long refillAt;
        final AtomicLong next;

        Block(long start, long end) {
            this.end = end;
            this.refillAt = start + (end - start) / 2;
            this.next = new AtomicLong(start);
        }
    }

    /** Without ESN the last usable number is 2^32-1; with ESN, 2^64-1. */
    private final long lastSequence;
    private final AtomicLong next;
    private final Consumer<OutboundSa> onExhausted;
    private volatile boolean exhausted;

    private final String id;
    private final LeaseRequester requester;
    private volatile Block current;
    private final AtomicReference<Block> pending = new AtomicReference<>();
    private final AtomicBoolean leaseInFlight = new AtomicBoolean();
    /** End of the highest block accepted: a block starting below it would repeat numbers. */
    private long leasedUpTo;
    private volatile InetSocketAddress peer;

    /** An SA whose first packet carries sequence number 1. */
    public OutboundSa(EspSaSpec spec, Consumer<OutboundSa> onExhausted) {
        this(spec, 1, onExhausted);
    }

    /** An SA whose next packet carries {@code firstSequence} (e.g. after a takeover). */
    public OutboundSa(EspSaSpec spec, long firstSequence, Consumer<OutboundSa> onExhausted) {
        this(spec, firstSequence, onExhausted, null, null, null);
        if (firstSequence == 0) {
            throw new IllegalArgumentException("sequence numbers start at 1 (RFC 4303 §3.3.3)");
        }
    }

    private OutboundSa(EspSaSpec spec, long firstSequence, Consumer<OutboundSa> onExhausted, String id,
            LeaseRequester requester, InetSocketAddress peer) {
        super(spec);
        this.lastSequence = spec.esn() ? -1L : 0xffff_ffffL;
        this.next = new AtomicLong(firstSequence);
        this.onExhausted = onExhausted;
        this.id = id;
        this.requester = requester;
        this.peer = peer;
    }

    /**
     * An SA that takes its numbers from leases: none until the first {@link #offerLease}; the
     * first request is made at once.
     *
     * @param id the SA's id in sad-service
     * @param peer where its packets go (UDP 4500 of the peer, after NAT)
     */
    public static OutboundSa leased(String id, EspSaSpec spec, InetSocketAddress peer, LeaseRequester requester,
            Consumer<OutboundSa> onExhausted) {
        OutboundSa sa = new OutboundSa(spec, 0, onExhausted, id, requester, peer);
        sa.requestNext();
        return sa;
    }

    /** The sad-service id of a leased SA, else null. */
    public String id() {
        return id;
    }

    /** The peer's outer endpoint of a leased SA (null for static SAs, whose route holds it). */
    public InetSocketAddress peer() {
        return peer;
    }

    /** A NAT mapping change or MOBIKE update moved the peer. */
    public void peer(InetSocketAddress p) {
        this.peer = p;
    }

    /**
     * The next sequence number, or 0 when none may be used: the SA used its last one (the first
     * such call notifies the exhaustion listener; {@link #isExhausted()}), or, for a leased SA,
     * the current block is used up and the next one has not arrived.
     */
    public long nextSequence() {
        if (requester != null) {
            return nextLeased();
        }
        long seq = next.getAndIncrement();
        if (Long.compareUnsigned(seq, lastSequence) > 0 || seq == 0) {
            next.set(0);
            exhaust();
            return 0;
        }
        return seq;
    }

    private long nextLeased() {
        if (exhausted) {
            return 0;
        }
        Block b = current;
        for (int tries = 0; tries < 4; tries++) {
            if (b != null) {
                long seq = b.next.getAndIncrement();
                if (Long.compareUnsigned(seq, b.end) < 0) {
                    if (seq == b.refillAt) {
                        requestNext();
                    }
                    return seq;
                }
            }
            Block n = pending.get();
            if (n == null) {
                requestNext();
                return 0;
            }
            if (pending.compareAndSet(n, null)) {
                current = n;
            }
            b = current;
        }
        return 0;
    }

    private void requestNext() {
        if (!exhausted && !isClosed() && !isHardExpired() && leaseInFlight.compareAndSet(false, true)) {
            requester.requestLease(this);
        }
    }

    /**
     * A block [start, end) leased to this node arrived. A block that would repeat a number of an
     * earlier one, or is empty, is refused (returns false): uniqueness beats availability.
     */
    public synchronized boolean offerLease(long start, long end) {
        leaseInFlight.set(false);
        if (start == 0 || Long.compareUnsigned(start, end) >= 0 || Long.compareUnsigned(start, leasedUpTo) < 0) {
            return false;
        }
        if (lastSequence != -1L && Long.compareUnsigned(end, lastSequence + 1) > 0) {
            end = lastSequence + 1;
        }
        leasedUpTo = end;
        Block blk = new Block(start, end);
        Block c = current;
        if (c == null || Long.compareUnsigned(c.next.get(), c.end) >= 0 && pending.get() == null) {
            current = blk;
        } else {
            pending.set(blk);
        }
        return true;
    }

    /** The lease request ended without a block (the requester gave up for now); a later packet asks again. */
    public void leaseRequestEnded() {
        leaseInFlight.set(false);
    }

    /** Whether a lease request is outstanding. */
    public boolean leaseInFlight() {
        return leaseInFlight.get();
    }

    /** sad-service refused further leases because the sequence space is used up: the SA needs rekeying. */
    public void markSequenceSpaceExhausted() {
        leaseInFlight.set(false);
        exhaust();
    }

    private void exhaust() {
        if (!exhausted) {
            exhausted = true;
            if (onExhausted != null) {
                onExhausted.accept(this);
            }
        }
    }

    /** True once the counter ran out; the SA must be replaced by a rekeyed one. */
    public boolean isExhausted() {
        return exhausted;
    }

    /** Whether this SA takes its numbers from leases. */
    public boolean isLeased() {
        return requester != null;
    }

    /** The number the next packet would carry (the high-water mark for a handover); 0 when leased and none is held. */
    public long peekNextSequence() {
        if (requester == null) {
            return next.get();
        }
        Block b = current;
        if (b != null && Long.compareUnsigned(b.next.get(), b.end) < 0) {
            return b.next.get();
        }
        Block n = pending.get();
        return n == null ? 0 : n.next.get();
    }
}
