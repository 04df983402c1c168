package dev.keel.policy.config;

/** What happens after the peer closes a child (a Delete, not a rekey); swanctl's {@code close_action}. */
public enum CloseAction {
    /** Nothing. */
    NONE,
    /** Arm its trap: matching traffic initiates it again. */
    TRAP,
    /** Initiate it again at once. */
    START
}
