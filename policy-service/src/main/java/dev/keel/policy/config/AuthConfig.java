package dev.keel.policy.config;

import java.util.Objects;

/**
 * One side's authentication.
 *
 * @param method    psk or pubkey
 * @param id        the IKE identity (RFC 7296 §3.5) as written
 * @param secretRef the name of the {@code secrets:} entry this side uses, or null (remote side);
 *                  only ever the name
 */
public record AuthConfig(AuthMethod method, String id, String secretRef) {

    /** Requires a method and an id. */
    public AuthConfig {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(id, "id");
    }
}
