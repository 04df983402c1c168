package dev.keel.policy.config;

import dev.keel.core.spd.SpdEntry;

/**
 * An SPD entry with the configured priority it was ordered by and where it came from.
 *
 * @param entry    the entry
 * @param priority its configured priority, lower first
 * @param source   key path of the child or policy it was compiled from, with the selector pair,
 *                 e.g. {@code connections.a.children.net (local_ts[0], remote_ts[1])}
 */
public record CompiledPolicy(SpdEntry entry, int priority, String source) {
}
