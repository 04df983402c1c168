package dev.keel.policy.config;

/** What happens to a child when DPD declares the peer dead; swanctl's {@code dpd_action}. */
public enum DpdAction {
    /** Close it. */
    CLEAR,
    /** Close it and install trap policies. */
    TRAP,
    /** Close it and initiate again. */
    RESTART
}
