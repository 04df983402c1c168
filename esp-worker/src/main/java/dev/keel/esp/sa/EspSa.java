package dev.keel.esp.sa;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * State shared by both directions of an ESP SA: its spec, the per-thread cipher suites and the
 * traffic counters lifetimes are measured against (RFC 4301 §4.4.2.1).
 */
public abstract sealed class EspSa implements AutoCloseable permits OutboundSa, InboundSa {

    private final EspSaSpec spec;
    /** Each packet-owning thread gets its own Cipher instances (javax.crypto is not thread-safe). */
    private final ThreadLocal<EspCipherSuite> suites;
    private final List<EspCipherSuite> allSuites = new CopyOnWriteArrayList<>();
    private final LongAdder packets = new LongAdder();
    private final LongAdder bytes = new LongAdder();
    private final LongAdder drops = new LongAdder();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Set once a hard lifetime is reached: no packet is protected or accepted after it (RFC 4301 §4.4.2.1). */
    private volatile boolean hardExpired;

    EspSa(EspSaSpec spec) {
        this.spec = spec;
        this.suites = ThreadLocal.withInitial(this::newSuite);
        // Build one suite now so a bad key fails at install time, not on the first packet.
        suites.get();
    }

    private EspCipherSuite newSuite() {
        if (closed.get()) {
            throw new IllegalStateException("SA " + spec.spiHex() + " is deleted");
        }
        EspCipherSuite suite = EspCipherSuite.create(spec);
        allSuites.add(suite);
        return suite;
    }

    public EspSaSpec spec() {
        return spec;
    }

    public int spi() {
        return spec.spi();
    }

    /** This thread's cipher suite for the SA. */
    public EspCipherSuite suite() {
        return suites.get();
    }

    /** Counts one packet of {@code length} bytes through this SA. */
    public void count(int length) {
        packets.increment();
        bytes.add(length);
    }

    /** Packets protected or accepted so far. */
    public long packets() {
        return packets.sum();
    }

    /** Bytes of plaintext protected or accepted so far. */
    public long bytes() {
        return bytes.sum();
    }

    /** Counts one packet dropped on account of this SA (no sequence number, expired). */
    public void countDrop() {
        drops.increment();
    }

    /** Packets dropped on account of this SA. */
    public long drops() {
        return drops.sum();
    }

    /** True once a hard lifetime was reached: the data plane neither protects nor accepts with it. */
    public boolean isHardExpired() {
        return hardExpired;
    }

    /** Marks the SA hard-expired (never undone). */
    public void markHardExpired() {
        hardExpired = true;
    }

    public boolean isClosed() {
        return closed.get();
    }

    /** Deletes the SA: zeroizes every thread's keys and the spec's. Packets still in flight fail safely. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            for (EspCipherSuite s : allSuites) {
                s.close();
            }
            allSuites.clear();
            spec.destroyKeys();
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + spec + "]";
    }
}
