package dev.keel.esp.forward;

/** What the forwarding path does between the plaintext port and the outer socket. */
public enum ForwardMode {
    /** ESP in UDP (RFC 3948): the gateway. */
    ESP,
    /**
     * The same path without ESP: plaintext IP packets relayed as UDP payloads, routed alike but
     * neither encrypted nor checked. Only the ceiling for benchmarks; never for traffic.
     */
    RELAY
}
