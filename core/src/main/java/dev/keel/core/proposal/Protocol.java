package dev.keel.core.proposal;

/** The security protocol a proposal negotiates: the Protocol ID of RFC 7296 §3.3.1. */
public enum Protocol {
    /** The IKE SA itself. */
    IKE(1),
    /** Authentication Header (RFC 4302). */
    AH(2),
    /** Encapsulating Security Payload (RFC 4303). */
    ESP(3);

    private final int id;

    Protocol(int id) {
        this.id = id;
    }

    /** The Protocol ID carried in a Proposal substructure. */
    public int id() {
        return id;
    }

    /** The protocol with this Protocol ID, or null when it is not one Keel negotiates. */
    public static Protocol byId(int id) {
        for (Protocol p : values()) {
            if (p.id == id) {
                return p;
            }
        }
        return null;
    }
}
