package dev.keel.ike.admin;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Where the traffic of CHILD SAs comes from for the admin API: the data plane counts it, not the
 * IKE engine (ike-service's own is {@code SadChildSaUsage}, what the data plane reports to the SAD).
 */
@FunctionalInterface
public interface ChildSaUsage {

    /** One direction's traffic: totals since install, and the last use (Unix epoch ms, 0: none yet). */
    record Traffic(long bytes, long packets, long lastUsedMillis) {
        /** No traffic known. */
        public static final Traffic NONE = new Traffic(0, 0, 0);
    }

    /** The traffic of each CHILD SA of one look-up. */
    @FunctionalInterface
    interface Lookup {
        /** Of the CHILD SA with our inbound SPI {@code inboundSpi}: {@code inbound} is its inbound half. */
        Traffic of(int inboundSpi, boolean inbound);

        /** No traffic known of any CHILD SA. */
        Lookup NONE = (inboundSpi, inbound) -> Traffic.NONE;
    }

    /** The traffic of the CHILD SAs of {@code connection} (empty: of every connection), as known now. */
    CompletionStage<Lookup> fetch(String connection);

    /** Knows no traffic: every count 0. */
    ChildSaUsage NONE = connection -> CompletableFuture.completedFuture(Lookup.NONE);
}
