package dev.keel.gateway;

import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpPrefix;
import dev.keel.core.net.IpRange;
import dev.keel.esp.raw.RawEspTransport;
import dev.keel.ike.config.IkeConnection;
import dev.keel.policy.config.ConnectionConfig;
import dev.keel.policy.config.PolicyConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes through the TUN device for remote selectors that hold an IKE peer's own address (and
 * not this node's, {@link Endpoints#heldBy}): transport mode host to host (the selectors are the
 * IKE endpoints, RFC 7296 §1.3.1), or a tunnel to a remote network the peer is in. In the main
 * table such a route would also take Keel's own IKE and ESP-in-UDP datagrams to the peer into
 * the TUN device, where they find no SA (the problem strongSwan's kernel-libipsec has, see its
 * {@code allow_peer_ts}). So these prefixes go
 * into table {@link #TABLE} instead, looked up for everything ({@code priority} {@link #TABLE})
 * except UDP from Keel's IKE and NAT-T ports and Keel's raw ESP and AH, which see the main table
 * first ({@code priority} {@link #BYPASS_PRIORITY}: {@code ip rule ... ipproto udp sport}, Linux
 * 4.17 and later, and {@code fwmark} {@link RawEspTransport#OWN_PACKET_MARK}, the raw sockets'
 * {@code SO_MARK}). Each
 * route has the node's address as source, so the host's own traffic to the peer matches the
 * transport-mode selectors. The rules outlive the process (harmless: the table empties when the
 * device goes); a restart deletes and adds them again rather than stacking copies.
 */
final class PeerRoutes {

    /** The routing table, and the priority of the rule that looks it up (RFC 7296's number). */
    static final int TABLE = 7296;
    /** The priority of the rules that send Keel's own IKE, ESP-in-UDP, raw ESP and raw AH to the main table first. */
    static final int BYPASS_PRIORITY = TABLE - 1;

    private static final Logger LOG = LoggerFactory.getLogger(PeerRoutes.class);
    private static final long TIMEOUT_SECONDS = 10;

    private PeerRoutes() {
    }

    /**
     * The literal addresses of the connections: {@code remote_addrs} (the peers) and
     * {@code local_addrs} (this node); {@code %any}, {@code %any4} and {@code %any6} are left out.
     */
    record Endpoints(List<IpRange> peers, List<IpRange> own) {

        /**
         * True when {@code prefix} holds a peer's address but none of this node's, and is not a
         * default route: a route for it would take Keel's own datagrams to that peer. A prefix
         * that holds this node's address too (its own subnet, 0.0.0.0/0) stays in the main table
         * as before: there the more specific route to the node's own subnet keeps winning, and in
         * {@link #TABLE} it would take the node's LAN traffic into the tunnel.
         */
        boolean heldBy(IpPrefix prefix) {
            IpRange r = prefix.toRange();
            return prefix.length() > 0 && peers.stream().anyMatch(p -> p.overlaps(r))
                    && own.stream().noneMatch(o -> o.overlaps(r));
        }
    }

    /** The connections' literal addresses. */
    static Endpoints endpoints(PolicyConfig policy) {
        List<IpRange> peers = new ArrayList<>();
        List<IpRange> own = new ArrayList<>();
        for (ConnectionConfig c : policy.connectionList()) {
            peers.addAll(IkeConnection.addresses(c.remoteAddrs().stream().filter(a -> !a.startsWith("%")).toList()));
            own.addAll(IkeConnection.addresses(c.localAddrs().stream().filter(a -> !a.startsWith("%")).toList()));
        }
        return new Endpoints(peers, own);
    }

    /**
     * The {@code ip} commands (arguments after {@code ip}) that route {@code prefixes} through
     * {@code device} in {@link #TABLE} from {@code local} (no source if null), with the rules for
     * each IP version of them: first the deletes of rules a previous run left (they may fail),
     * then the adds.
     */
    static List<List<String>> commands(String device, List<IpPrefix> prefixes, IpAddress local, int ikePort,
            int natTPort) {
        List<List<String>> deletes = new ArrayList<>();
        List<List<String>> adds = new ArrayList<>();
        Set<String> families = new LinkedHashSet<>();
        prefixes.forEach(p -> families.add(p.address().isIpv6() ? "-6" : "-4"));
        for (String f : families) {
            List<List<String>> selectors = new ArrayList<>();
            for (int port : new LinkedHashSet<>(List.of(ikePort, natTPort))) {
                selectors.add(List.of("priority", Integer.toString(BYPASS_PRIORITY), "ipproto", "udp", "sport",
                        Integer.toString(port), "lookup", "main"));
            }
            // raw ESP and AH (protocols 50, 51) leave marked: by mark, since IPv4 AH (IP_HDRINCL) is routed as protocol 255
            selectors.add(List.of("priority", Integer.toString(BYPASS_PRIORITY), "fwmark",
                    Integer.toString(RawEspTransport.OWN_PACKET_MARK), "lookup", "main"));
            selectors.add(List.of("priority", Integer.toString(TABLE), "lookup", Integer.toString(TABLE)));
            for (List<String> selector : selectors) {
                deletes.add(rule(f, "del", selector));
                adds.add(rule(f, "add", selector));
            }
        }
        for (IpPrefix p : prefixes) {
            List<String> route = new ArrayList<>(List.of("route", "replace", p.toString(), "dev", device, "table",
                    Integer.toString(TABLE)));
            if (local != null && p.address().isIpv6() == local.isIpv6()) {
                route.addAll(List.of("src", local.toString()));
            }
            adds.add(route);
        }
        List<List<String>> all = new ArrayList<>(deletes);
        all.addAll(adds);
        return all;
    }

    private static List<String> rule(String family, String verb, List<String> selector) {
        List<String> r = new ArrayList<>(List.of(family, "rule", verb));
        r.addAll(selector);
        return r;
    }

    /** The node's address as the routes' source, or null when it is unspecified (0.0.0.0, ::). */
    static IpAddress source(String localAddress) {
        IpAddress a = IpAddress.parse(localAddress);
        return a.equals(IpAddress.min(a.family())) ? null : a;
    }

    /**
     * Runs {@link #commands}; a failed delete is expected (nothing left from a previous run), a
     * failed add stops start-up with iproute2's message.
     */
    static void install(String device, List<IpPrefix> prefixes, String localAddress, int ikePort, int natTPort)
            throws IOException, InterruptedException {
        if (prefixes.isEmpty()) {
            return;
        }
        for (List<String> args : commands(device, prefixes, source(localAddress), ikePort, natTPort)) {
            List<String> cmd = new ArrayList<>(List.of("ip"));
            cmd.addAll(args);
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": no answer in " + TIMEOUT_SECONDS + " s");
            }
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            boolean delete = args.get(1).equals("rule") && args.get(2).equals("del");
            if (p.exitValue() != 0 && !delete) {
                throw new IOException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + output);
            }
        }
        LOG.info("routes holding an IKE peer's address through {} in table {} (Keel's own UDP from ports {} and {}"
                + " and raw ESP/AH, fwmark {}, bypass it): {}", device, TABLE, ikePort, natTPort,
                RawEspTransport.OWN_PACKET_MARK, prefixes);
    }
}
