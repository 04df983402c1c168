package dev.keel.gateway;

import dev.keel.esp.feed.SaTables;
import dev.keel.proto.v1.ChildSaRecord;
import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The carrier of route-based interfaces with {@code carrier: sa} (docs/gateway.md, "Route-based
 * connections"): on while this node's data plane holds an outbound CHILD SA of the interface's
 * connection, off otherwise. Counted per SA id, so that a rekey, which installs the new SA before
 * the old one goes, never turns it off, and a repeated notice changes nothing. The SA tables call
 * in on their writer's thread; a switch is one ioctl, quick enough to make there.
 */
final class InterfaceCarrier implements SaTables.OutboundListener {

    private static final Logger LOG = LoggerFactory.getLogger(InterfaceCarrier.class);

    /** One interface's carrier. */
    interface Switch {
        /** Turns it on or off. */
        void set(boolean on) throws IOException;
    }

    private final Map<String, Switch> byConnection;
    /** Per connection: the ids of its outbound SAs installed here. */
    private final Map<String, Set<String>> outbound = new HashMap<>();

    /** {@code byConnection}: the {@code carrier: sa} interfaces, by the name of their connection. */
    InterfaceCarrier(Map<String, Switch> byConnection) {
        this.byConnection = Map.copyOf(byConnection);
    }

    @Override
    public void outboundInstalled(ChildSaRecord record) {
        Switch s = byConnection.get(record.getConnection());
        if (s == null) {
            return;
        }
        synchronized (this) {
            Set<String> ids = outbound.computeIfAbsent(record.getConnection(), k -> new HashSet<>());
            if (ids.add(record.getId()) && ids.size() == 1) {
                set(s, true, record);
            }
        }
    }

    @Override
    public void outboundRemoved(ChildSaRecord record) {
        Switch s = byConnection.get(record.getConnection());
        if (s == null) {
            return;
        }
        synchronized (this) {
            Set<String> ids = outbound.get(record.getConnection());
            if (ids != null && ids.remove(record.getId()) && ids.isEmpty()) {
                set(s, false, record);
            }
        }
    }

    /** A failure is logged and leaves the carrier as it was (the next change tries again). */
    private static void set(Switch s, boolean on, ChildSaRecord cause) {
        try {
            s.set(on);
            LOG.info("{}: carrier {} ({} outbound SA {} of {}/{})", s, on ? "on" : "off", on ? "the first" : "the last",
                    on ? "installed" : "removed", cause.getConnection(), cause.getChild());
        } catch (IOException e) {
            LOG.warn("{}: turning the carrier {} failed: {}", s, on ? "on" : "off", e.getMessage());
        }
    }
}
