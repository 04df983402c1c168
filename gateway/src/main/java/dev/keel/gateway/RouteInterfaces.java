package dev.keel.gateway;

import dev.keel.esp.config.PlaintextConfig;
import dev.keel.esp.feed.SaTables;
import dev.keel.esp.plain.PlaintextPort;
import dev.keel.esp.tun.TunDevice;
import dev.keel.esp.tun.TunPort;
import dev.keel.esp.tun.TunSetup;
import dev.keel.policy.config.ConnectionConfig;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.policy.config.RouteInterface;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The interfaces of a node's route-based connections ({@code connections.NAME.interface}), one
 * TUN device each with one queue per event loop, its addresses and MTU, and offloads when the
 * shared TUN device has them, up from start to stop:
 * what the kernel routes into one goes out through its connection's CHILD SA, and what that CHILD
 * SA delivers comes out of it (docs/gateway.md, "Route-based connections"). Keel adds no route
 * through them; the operator's routes or a routing daemon (BGP over the inside addresses) do.
 * Interface {@code i} in {@link #ports()} is the data plane's outlet {@code i + 1}.
 *
 * <p>With {@code carrier: sa} (the default) an interface's carrier is on only while this node's
 * data plane holds an outbound CHILD SA of its connection ({@link InterfaceCarrier}): a routing
 * daemon that watches the link (BIRD's {@code check link}) then withdraws what it learned over the
 * tunnel the moment the last SA goes, e.g. when DPD declares the peer dead, without waiting for BFD
 * or its hold timer.
 */
final class RouteInterfaces implements AutoCloseable {

    private final List<TunPort> ports;
    private final Map<String, Integer> outletByConnection;
    private final InterfaceCarrier carrier;

    private RouteInterfaces(List<TunPort> ports, Map<String, Integer> outletByConnection,
            Map<String, TunDevice> carrierBySa) {
        this.ports = ports;
        this.outletByConnection = outletByConnection;
        Map<String, InterfaceCarrier.Switch> switches = new HashMap<>();
        carrierBySa.forEach((connection, tun) -> switches.put(connection, new InterfaceCarrier.Switch() {
            @Override
            public void set(boolean on) throws IOException {
                tun.setCarrier(on);
            }

            @Override
            public String toString() {
                return tun.name();
            }
        }));
        this.carrier = new InterfaceCarrier(switches);
    }

    /** No route-based connections. */
    static RouteInterfaces none() {
        return new RouteInterfaces(List.of(), Map.of(), Map.of());
    }

    /**
     * Opens the interface of every route-based connection of {@code policy} (the file the node
     * started with; the admin API refuses a later configuration with other ones: {@link StartInterfaces}).
     * Needs root or CAP_NET_ADMIN; runs {@code ip}; never on an event loop. Closes what it opened when one fails.
     */
    static RouteInterfaces open(GatewaySettings settings, PolicyConfig policy) throws IOException, InterruptedException {
        String sharedTun = settings.plaintext() instanceof PlaintextConfig.Tun t ? t.name() : null;
        // offloads as on the shared device (gateway.plaintext.tun.offload, docs/tun.md)
        boolean offload = settings.plaintext() instanceof PlaintextConfig.Tun t && t.offload();
        List<TunPort> ports = new ArrayList<>();
        Map<String, Integer> outlets = new HashMap<>();
        Map<String, TunDevice> carrierBySa = new HashMap<>();
        try {
            for (ConnectionConfig c : policy.connectionList()) {
                RouteInterface i = c.iface();
                if (i == null) {
                    continue;
                }
                if (i.name().equals(sharedTun)) {
                    throw new IllegalArgumentException(policy.source() + ": connections." + c.name()
                            + ".interface.name: '" + i.name() + "' is the node's TUN device (gateway.plaintext.tun.name);"
                            + " a route-based connection needs an interface of its own");
                }
                TunDevice tun;
                try {
                    tun = TunSetup.up(i.name(), settings.loops(), i.mtu(),
                            i.addresses().stream().map(Object::toString).toList(), List.of(), 0, offload);
                } catch (IOException e) {
                    throw new IOException(policy.source() + ": connections." + c.name() + ".interface: "
                            + e.getMessage(), e);
                }
                // ICMP too-big from the inner destination, as on the shared device (docs/tun.md)
                ports.add(new TunPort(tun, i.mtu(), null, null));
                outlets.put(c.name(), ports.size());
                if (i.carrier() == RouteInterface.Carrier.SA) {
                    tun.setCarrier(false); // no CHILD SA yet
                    carrierBySa.put(c.name(), tun);
                }
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            ports.forEach(p -> p.device().close());
            throw e;
        }
        return new RouteInterfaces(List.copyOf(ports), Map.copyOf(outlets), Map.copyOf(carrierBySa));
    }

    /** The interfaces, in outlet order (outlet = index + 1). */
    List<PlaintextPort> ports() {
        return List.copyOf(ports);
    }

    /** The interface names, in outlet order. */
    List<String> names() {
        return ports.stream().map(p -> p.device().name()).toList();
    }

    /** The outlet of {@code connection}'s inbound SAs: its interface's, or 0 (the shared side). */
    int outletOf(String connection) {
        return outletByConnection.getOrDefault(connection, 0);
    }

    /** Turns the {@code carrier: sa} interfaces' carrier on and off with their connections' outbound SAs. */
    SaTables.OutboundListener carrier() {
        return carrier;
    }

    /** Closes every interface (the devices disappear with their last queue). */
    @Override
    public void close() {
        ports.forEach(p -> p.device().close());
    }
}
