package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.BoundedCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Two route-based tunnels from one Keel gateway to one peer, shaped like a cloud VPN connection
 * (AWS Site-to-Site VPN hands out two tunnels, each with its own outside address and a
 * 169.254.x.x/30 inside): on a {@link NetnsTopology}, gateway A runs one Keel with connections
 * {@code t1} and {@code t2}, each owning an interface ({@code keel-t1} 169.254.10.2/30,
 * {@code keel-t2} 169.254.11.2/30); the peer's namespace (gw-b, outside 192.0.2.2 and 192.0.2.3)
 * runs one Keel per tunnel endpoint, B1 on 192.0.2.2 with {@code keel-t1} 169.254.10.1/30 and B2
 * on 192.0.2.3 with {@code keel-t2} 169.254.11.1/30, so that one tunnel's far end can die alone.
 *
 * <pre>
 * host-a 10.1.0.2 -- gw-a [Keel A: keel-t1, keel-t2] 192.0.2.1 == 192.0.2.2 [Keel B1: keel-t1]  gw-b -- host-b 10.2.0.2
 *                                                              == 192.0.2.3 [Keel B2: keel-t2]
 * </pre>
 *
 * Every selector is the route-based default (0.0.0.0/0 and ::/0): the kernel's routes decide what
 * enters each tunnel. {@link #close()} stops the gateways and deletes the namespaces (and with them
 * the interfaces and anything else still running in them), also after a failure.
 */
final class RouteBasedTunnels implements AutoCloseable {

    /** One tunnel: its connection name, the peer's outside address, and both inside addresses. */
    record Tunnel(String name, String peerOutside, String insideA, String insideB) {
        String iface() {
            return "keel-" + name;
        }
    }

    static final Tunnel T1 = new Tunnel("t1", "192.0.2.2", "169.254.10.2", "169.254.10.1");
    static final Tunnel T2 = new Tunnel("t2", "192.0.2.3", "169.254.11.2", "169.254.11.1");
    static final String PSK = "route-based-test-psk-not-a-secret";
    static final Duration WAIT = Duration.ofSeconds(90);

    final NetnsTopology topo;
    final Path dir;
    final KeelGatewayProcess a;
    final KeelGatewayProcess b1;
    final KeelGatewayProcess b2;

    private RouteBasedTunnels(NetnsTopology topo, Path dir, KeelGatewayProcess a, KeelGatewayProcess b1,
            KeelGatewayProcess b2) {
        this.topo = topo;
        this.dir = dir;
        this.a = a;
        this.b1 = b1;
        this.b2 = b2;
    }

    /**
     * Builds the namespaces and starts the three gateways (B1 and B2 beside A); returns once both of
     * A's CHILD SAs are usable in its data plane. {@code dpd}: A's DPD interval towards each tunnel's peer.
     */
    static RouteBasedTunnels start(Path dir, Duration dpd) throws Exception {
        NetnsTopology topo = NetnsTopology.create();
        List<AutoCloseable> started = new ArrayList<>();
        try {
            BoundedCommand.run(Duration.ofSeconds(10), List.of("ip", "-n", topo.b().gatewayNamespace(), "addr", "add",
                    T2.peerOutside() + "/24", "dev", "outer")).requireOk();
            CompletableFuture<KeelGatewayProcess> b1 = startAsync(topo.b().gatewayNamespace(), dir.resolve("b1"),
                    peerConfig(T1, "b1", 5801));
            CompletableFuture<KeelGatewayProcess> b2 = startAsync(topo.b().gatewayNamespace(), dir.resolve("b2"),
                    peerConfig(T2, "b2", 5802));
            started.add(() -> stopWhenStarted(b1));
            started.add(() -> stopWhenStarted(b2));
            // both peers up before A initiates: A's quick retransmissions give up on a peer still starting
            KeelGatewayProcess peer1 = b1.get(150, TimeUnit.SECONDS);
            KeelGatewayProcess peer2 = b2.get(150, TimeUnit.SECONDS);
            KeelGatewayProcess a = start(topo.a().gatewayNamespace(), dir.resolve("a"), localConfig(dpd));
            started.add(a);
            RouteBasedTunnels t = new RouteBasedTunnels(topo, dir, a, peer1, peer2);
            t.awaitBothChildren();
            return t;
        } catch (Exception | Error e) {
            for (AutoCloseable c : started.reversed()) {
                try {
                    c.close();
                } catch (Exception x) {
                    e.addSuppressed(x);
                }
            }
            topo.close();
            throw e;
        }
    }

    private void awaitBothChildren() throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (count(a.log(), "usable in the data plane") < 2) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("A's two CHILD SAs not usable within " + WAIT + "; A's log:\n" + a.log()
                        + "\nB1's log:\n" + b1.log() + "\nB2's log:\n" + b2.log());
            }
            Thread.sleep(100);
        }
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    /** A's time from an unanswered DPD request to the peer declared dead: 0.5 + 0.75 + 1.125 s (its {@code ike:} line). */
    static final Duration DPD_RETRANSMISSIONS = Duration.ofMillis(2_375);

    /** Gateway A: both tunnels, initiated at start, with DPD every {@code dpd}. */
    private static String localConfig(Duration dpd) {
        StringBuilder y = new StringBuilder("""
                gateway:
                  address: 192.0.2.1
                  loops: 2
                  key_export: @KEYS@
                  admin: {socket: admin/keel.sock}
                  cluster: {name: a, bind: 127.0.0.1:5701}
                  # a DPD request unanswered is sent again after 0.5 and 0.75 s: the peer is dead 2.4 s after it
                  ike: {retransmit_timeout: 500ms, retransmit_base: 1.5, retransmit_tries: 2}
                  plaintext:
                    tun: {name: keel0, mtu: 1400}
                secrets:
                  psk: {file: psk.txt}
                connections:
                """);
        for (Tunnel t : List.of(T1, T2)) {
            y.append("""
                      %s:
                        local_addrs: 192.0.2.1
                        remote_addrs: %s
                        local: {auth: psk, id: "192.0.2.1", secret: psk}
                        remote: {auth: psk, id: "%s"}
                        dpd_delay: %ds
                        interface: {name: %s, addresses: [%s/30], mtu: 1400}
                        children:
                          tun: {start_action: start, dpd_action: restart}
                    """.formatted(t.name(), t.peerOutside(), t.peerOutside(), dpd.toSeconds(), t.iface(), t.insideA()));
        }
        return y.toString();
    }

    /** One tunnel's far end (B1 or B2), answering A; its own Hazelcast cluster on {@code clusterPort}. */
    private static String peerConfig(Tunnel t, String name, int clusterPort) {
        return """
                gateway:
                  address: %s
                  loops: 1
                  key_export: @KEYS@
                  admin: {socket: admin/keel.sock}
                  cluster: {name: %s, bind: 127.0.0.1:%d}
                  plaintext:
                    tun: {name: keel-%s, mtu: 1400}
                secrets:
                  psk: {file: psk.txt}
                connections:
                  %s:
                    local_addrs: %s
                    remote_addrs: 192.0.2.1
                    local: {auth: psk, id: "%s", secret: psk}
                    remote: {auth: psk, id: "192.0.2.1"}
                    interface: {name: %s, addresses: [%s/30], mtu: 1400}
                    children:
                      tun: {}
                """.formatted(t.peerOutside(), name, clusterPort, name, t.name(), t.peerOutside(), t.peerOutside(),
                t.iface(), t.insideB());
    }

    private static KeelGatewayProcess start(String namespace, Path dir, String config)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("psk.txt"), PSK);
        Path file = dir.resolve("keel.yaml");
        Files.writeString(file, config.replace("@KEYS@", dir.resolve("keys").toString()));
        return KeelGatewayProcess.start(namespace, file, dir.resolve("keel.log"), dir.resolve("keys"), List.of());
    }

    private static CompletableFuture<KeelGatewayProcess> startAsync(String namespace, Path dir, String config) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return start(namespace, dir, config);
            } catch (IOException | InterruptedException e) {
                throw new CompletionException(e);
            }
        });
    }

    private static void stopWhenStarted(CompletableFuture<KeelGatewayProcess> starting) throws InterruptedException {
        try {
            starting.get(150, TimeUnit.SECONDS).close();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // never started (its failure is reported by whoever waited for it); the namespaces go anyway
        }
    }

    /** Pings {@code target} from {@code namespace} {@code count} times, {@code interval} s apart; how many were answered. */
    int pingsAnswered(String namespace, String target, int count, String interval) throws IOException {
        BoundedCommand.Result ping = topo.exec(namespace, Duration.ofSeconds(10 + count), "ping", "-n", "-c",
                Integer.toString(count), "-i", interval, "-W", "2", target);
        Matcher m = Pattern.compile("(\\d+) packets transmitted, (\\d+) received").matcher(ping.output());
        assertThat(m.find()).as("ping's summary line in:\n" + ping.output()).isTrue();
        return Integer.parseInt(m.group(2));
    }

    /** The device the kernel in {@code namespace} routes {@code destination} through ({@code ip route get}). */
    String routeDevice(String namespace, String destination) throws IOException {
        BoundedCommand.Result r = topo.exec(namespace, Duration.ofSeconds(10), "ip", "-4", "route", "get", destination);
        Matcher m = Pattern.compile(" dev (\\S+)").matcher(r.output());
        return m.find() ? m.group(1) : "none (" + r.output().strip() + ")";
    }

    /** The three gateways' logs, for a failure message. */
    String logs() {
        StringBuilder s = new StringBuilder();
        for (var e : List.of(java.util.Map.entry("A", a), java.util.Map.entry("B1", b1), java.util.Map.entry("B2", b2))) {
            try {
                s.append("\n--- ").append(e.getKey()).append(" ---\n").append(e.getValue().log());
            } catch (IOException x) {
                s.append("\n--- ").append(e.getKey()).append(": ").append(x);
            }
        }
        return s.toString();
    }

    @Override
    public void close() throws Exception {
        Exception first = null;
        for (AutoCloseable c : List.<AutoCloseable>of(a, b1, b2, topo)) {
            try {
                c.close();
            } catch (Exception e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
