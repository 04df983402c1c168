package dev.keel.esp.packet;

import dev.keel.esp.sa.OutboundSa;

/** What became of an outbound packet; every value but {@link #PROTECTED} is a drop. */
public enum EncapOutcome {
    /** The buffer holds the ESP packet, ready for the wire. */
    PROTECTED,
    /** The SA used its last sequence number and must be rekeyed (RFC 4303 §3.3.3). */
    SEQUENCE_EXHAUSTED,
    /** The plaintext is not a valid IPv4 or IPv6 packet. */
    INVALID_INNER_PACKET,
    /** Not enough head- or tailroom for the ESP header, IV, trailer and ICV. */
    BUFFER_TOO_SMALL,
    /** The SA was deleted. */
    SA_DELETED,
    /** A leased SA's current block of sequence numbers is used up and the next has not arrived (DESIGN §4). */
    NO_SEQUENCE_LEASE,
    /** The SA reached a hard lifetime (RFC 4301 §4.4.2.1) and is used no more. */
    SA_EXPIRED;

    /**
     * The sequence number {@code sa} sends its next packet with, or 0 when it may send none now,
     * the drop counted on it ({@link #refusedBy} says why): ESP and AH take it alike.
     */
    static long sequenceFor(OutboundSa sa) {
        if (sa.isHardExpired()) {
            sa.countDrop();
            return 0;
        }
        long seq = sa.nextSequence();
        if (seq == 0) {
            sa.countDrop();
        }
        return seq;
    }

    /** Why {@link #sequenceFor} gave no sequence number. */
    static EncapOutcome refusedBy(OutboundSa sa) {
        return sa.isHardExpired() ? SA_EXPIRED : sa.isExhausted() ? SEQUENCE_EXHAUSTED : NO_SEQUENCE_LEASE;
    }

    public boolean isDrop() {
        return this != PROTECTED;
    }
}
