package dev.keel.ike.session;

import dev.keel.core.net.IpAddress;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.message.IkeIdentity;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The connections the engine serves, replaced as a whole when configuration changes (IKE SAs
 * keep the connection they were made with). Thread-safe.
 */
public final class ConnectionDirectory {

    /** One immutable generation: the list and its index by name, swapped together. */
    private record Snapshot(List<IkeConnection> all, Map<String, IkeConnection> byName) {
    }

    private final AtomicReference<Snapshot> connections = new AtomicReference<>(new Snapshot(List.of(), Map.of()));

    /** Replaces every connection. */
    public void replace(List<IkeConnection> next) {
        List<IkeConnection> all = List.copyOf(next);
        Map<String, IkeConnection> byName = new HashMap<>();
        for (IkeConnection c : all) {
            byName.putIfAbsent(c.name(), c); // the first of a name wins, as the scan in order did
        }
        connections.set(new Snapshot(all, byName));
    }

    /** All connections, in configuration order. */
    public List<IkeConnection> all() {
        return connections.get().all();
    }

    /** The connection named {@code name} (looked up, not scanned: every initiation asks). */
    public Optional<IkeConnection> byName(String name) {
        return Optional.ofNullable(connections.get().byName().get(name));
    }

    /**
     * Connections a responder may use for a peer at {@code remote} that reached us at
     * {@code local}, in configuration order (RFC 7296 leaves the choice to policy; like strongSwan,
     * addresses narrow it at IKE_SA_INIT and the peer's identity decides at IKE_AUTH).
     */
    public List<IkeConnection> forAddresses(IpAddress local, IpAddress remote) {
        return all().stream()
                .filter(c -> c.acceptsLocal(local))
                .filter(c -> c.acceptsRemote(remote))
                .toList();
    }

    /** Of {@code candidates}, the first whose required remote identity is {@code peerId} (or any). */
    public static Optional<IkeConnection> byPeerIdentity(List<IkeConnection> candidates, IkeIdentity peerId) {
        Optional<IkeConnection> exact = candidates.stream().filter(c -> peerId.equals(c.remoteId())).findFirst();
        return exact.isPresent() ? exact : candidates.stream().filter(c -> c.remoteId() == null).findFirst();
    }
}
