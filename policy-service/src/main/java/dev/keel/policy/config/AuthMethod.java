package dev.keel.policy.config;

/** How a side authenticates in IKE_AUTH (RFC 7296 §2.15); swanctl's {@code auth} values. */
public enum AuthMethod {
    /** Pre-shared key. */
    PSK,
    /** Public key signature. */
    PUBKEY
}
