/**
 * The worker's local tables and what feeds them: {@link dev.keel.esp.feed.SpdFeed} (policy-service's
 * Watch → core's {@code Spd} in a {@link dev.keel.esp.feed.SpdTable}), {@link dev.keel.esp.feed.SaFeed}
 * (sad-service's Watch → {@link dev.keel.esp.feed.SaTables}: inbound SAs by SPI, outbound SAs by
 * child) and {@link dev.keel.esp.feed.SaMaintenance} (sequence leases, usage reports, and
 * {@link dev.keel.esp.feed.ReplayCheckpoints} by the {@link dev.keel.esp.feed.CheckpointRule}). Event loops only read the tables, through volatile references to immutable snapshots;
 * every remote call happens on the feeds' own threads. See docs/architecture.md, "Worker tables".
 */
package dev.keel.esp.feed;
