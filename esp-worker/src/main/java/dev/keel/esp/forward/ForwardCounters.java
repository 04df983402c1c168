package dev.keel.esp.forward;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Counts of the forwarding path, by event and by drop reason; bumped from any loop, read by anyone. */
public final class ForwardCounters {

    private final LongAdder[] drops = new LongAdder[ForwardDrop.values().length];
    final LongAdder plaintextIn = new LongAdder();
    final LongAdder plaintextOut = new LongAdder();
    final LongAdder outerIn = new LongAdder();
    final LongAdder outerOut = new LongAdder();
    final LongAdder outerBatches = new LongAdder();
    final LongAdder plaintextBatches = new LongAdder();
    final LongAdder ikeHandedOff = new LongAdder();
    final LongAdder keepalivesReceived = new LongAdder();
    final LongAdder keepalivesSent = new LongAdder();
    final LongAdder bypassed = new LongAdder();
    /** Shared with the channels, which count their own back-pressure drops. */
    final LongAdder backpressure;

    public ForwardCounters() {
        for (int i = 0; i < drops.length; i++) {
            drops[i] = new LongAdder();
        }
        backpressure = drops[ForwardDrop.BACKPRESSURE.ordinal()];
    }

    void drop(ForwardDrop reason) {
        drops[reason.ordinal()].increment();
    }

    public long drops(ForwardDrop reason) {
        return drops[reason.ordinal()].sum();
    }

    /** Plaintext packets read from the plaintext port. */
    public long plaintextIn() {
        return plaintextIn.sum();
    }

    /** Plaintext packets written to the plaintext port. */
    public long plaintextOut() {
        return plaintextOut.sum();
    }

    /** Datagrams received on the outer UDP sockets. */
    public long outerIn() {
        return outerIn.sum();
    }

    /** ESP (or relayed) datagrams queued on the outer UDP sockets. */
    public long outerOut() {
        return outerOut.sum();
    }

    /** Read batches on the outer sockets (datagrams / batches = the mean recvmmsg batch). */
    public long outerBatches() {
        return outerBatches.sum();
    }

    /** Read batches on the plaintext queues. */
    public long plaintextBatches() {
        return plaintextBatches.sum();
    }

    public long ikeHandedOff() {
        return ikeHandedOff.sum();
    }

    public long keepalivesReceived() {
        return keepalivesReceived.sum();
    }

    public long keepalivesSent() {
        return keepalivesSent.sum();
    }

    /** Plaintext packets an SPD BYPASS entry sent on in clear. */
    public long bypassed() {
        return bypassed.sum();
    }

    public Map<ForwardDrop, Long> dropSnapshot() {
        Map<ForwardDrop, Long> m = new EnumMap<>(ForwardDrop.class);
        for (ForwardDrop d : ForwardDrop.values()) {
            m.put(d, drops(d));
        }
        return m;
    }

    @Override
    public String toString() {
        return "ForwardCounters[plainIn=" + plaintextIn() + ", outerOut=" + outerOut() + ", outerIn=" + outerIn()
                + ", plainOut=" + plaintextOut() + ", batches(plain/outer)=" + plaintextBatches() + "/" + outerBatches()
                + ", ike=" + ikeHandedOff() + ", keepalivesIn=" + keepalivesReceived()
                + ", keepalivesOut=" + keepalivesSent() + ", drops=" + dropSnapshot() + "]";
    }
}
