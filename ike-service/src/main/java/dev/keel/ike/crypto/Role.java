package dev.keel.ike.crypto;

/** This side's role in the IKE SA: the original initiator or the original responder (RFC 7296 §2.14). */
public enum Role {
    INITIATOR,
    RESPONDER
}
