package dev.keel.policy.config;

/** What happens to a child when the configuration is loaded; swanctl's {@code start_action}. */
public enum StartAction {
    /** Nothing: wait for the peer or an operator. */
    NONE,
    /** Install trap policies; the first matching packet triggers negotiation. */
    TRAP,
    /** Initiate at once. */
    START
}
