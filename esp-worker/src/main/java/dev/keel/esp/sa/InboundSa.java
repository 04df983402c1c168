package dev.keel.esp.sa;

/**
 * An inbound ESP SA: its replay window (absent when anti-replay is off) and the policy the
 * decrypted inner packets must satisfy (RFC 4301 §5.2).
 */
public final class InboundSa extends EspSa {

    private final ReplayWindow replayWindow;
    private final InnerPacketPolicy policy;
    private final int outlet;

    public InboundSa(EspSaSpec spec, InnerPacketPolicy policy) {
        this(spec, policy, 0);
    }

    /** An SA whose replay window restarts above {@code rejectUpTo} (its replay floor after a takeover). */
    public InboundSa(EspSaSpec spec, InnerPacketPolicy policy, long rejectUpTo) {
        this(spec, policy, rejectUpTo, 0);
    }

    /**
     * As {@link #InboundSa(EspSaSpec, InnerPacketPolicy, long)}, delivering to {@code outlet}: 0 the
     * shared plaintext side, {@code i} the {@code i}-th route-based interface.
     */
    public InboundSa(EspSaSpec spec, InnerPacketPolicy policy, long rejectUpTo, int outlet) {
        super(spec);
        this.replayWindow = spec.replayWindowSize() == 0 ? null : new ReplayWindow(spec.replayWindowSize(), rejectUpTo);
        this.policy = policy;
        this.outlet = outlet;
    }

    /** Where its packets come out: 0 the shared plaintext side, else the route-based interface of that number. */
    public int outlet() {
        return outlet;
    }

    /** The replay window, or null when anti-replay is disabled for this SA. */
    public ReplayWindow replayWindow() {
        return replayWindow;
    }

    public InnerPacketPolicy policy() {
        return policy;
    }
}
