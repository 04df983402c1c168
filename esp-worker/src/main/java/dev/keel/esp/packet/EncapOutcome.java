package dev.keel.esp.packet;

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

    public boolean isDrop() {
        return this != PROTECTED;
    }
}
