package dev.keel.esp.sa;

import java.util.Map;

/**
 * Outbound SAs by the CHILD_SA they belong to ({@code connection/child}, the name of its SPD
 * PROTECT entries), read lock-free and allocation-free on the packet path: writers (the SA feed)
 * build a new immutable map and publish it through one volatile field.
 */
public final class OutboundSaTable {

    private volatile Map<String, OutboundSa> byChild = Map.of();

    /** The SA carrying {@code child}'s traffic ({@code connection/child}), or null. */
    public OutboundSa lookup(String child) {
        return byChild.get(child);
    }

    /** Replaces the whole table (writers serialize among themselves). */
    public void publish(Map<String, OutboundSa> table) {
        byChild = Map.copyOf(table);
    }

    /** The current table. */
    public Map<String, OutboundSa> all() {
        return byChild;
    }

    /** The key of a child: {@code connection/child}, as core's {@code SpdEntry.protect} names its entries. */
    public static String key(String connection, String child) {
        return connection + "/" + child;
    }
}
