package dev.keel.gateway;

import dev.keel.esp.config.PlaintextConfig;
import dev.keel.ike.engine.IkeSettings;
import dev.keel.rpc.CallRateLimits;
import dev.keel.rpc.LogSettings;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The node's own section of the configuration file ({@code gateway:}), where it listens and
 * what its plaintext side is, and its {@code metrics:} section. Connections, secrets and policies
 * come from the rest of the file.
 *
 * @param address   our outer address: IKE and ESP-in-UDP bind to it, NAT detection hashes it
 * @param ikePort   the port serving as IKE's 500
 * @param natTPort  the port serving as 4500 (ESP in UDP and IKE after NAT traversal)
 * @param loops     event loops for the data plane
 * @param plaintext the plaintext side (a TUN device routes children's remote selectors: every child's, as
 *                  strongSwan's kernel-libipsec does, or those of the SAs this node owns: {@link LanRoutes})
 * @param keyExport a directory for Wireshark's esp_sa and ikev2_decryption_table files, or null
 * @param cluster   the embedded sad-service member (Hazelcast) and its cluster
 * @param admin     the admin gRPC API, or null for none
 * @param configDirectory the configuration file's directory: relative paths in the file resolve
 *                  against it, and the admin API's LoadConfig and ValidateConfig read files only inside it
 * @param ikeLimits what half-open IKE SAs may cost the node ({@code gateway.ike})
 * @param logging   the subsystems' levels and the line format (the file's {@code logging:} section)
 * @param metrics   where the Prometheus endpoint listens (the file's top-level {@code metrics:}
 *                  section), or null: no endpoint
 * @param rawEsp    {@code gateway.raw_esp}: CHILD SAs with no NAT between the peers (RFC 7296 §2.23) and
 *                  no {@code encap} run as raw ESP (IP protocol 50); false: every connection forces
 *                  UDP encapsulation by faking its NAT detection hash
 * @param natKeepalive {@code gateway.nat_keepalive}: how often an IKE SA behind a NAT sends NAT
 *                  keepalives (RFC 3948 §2.3); zero: none
 */
public record GatewaySettings(String address, int ikePort, int natTPort, int loops, PlaintextConfig plaintext,
        Path keyExport, Cluster cluster, Admin admin, Path configDirectory,
        IkeSettings ikeLimits, LogSettings logging, InetSocketAddress metrics, boolean rawEsp,
        Duration natKeepalive) {

    /** The only directory the admin API's LoadConfig and ValidateConfig read files from. */
    public Path adminConfigDirectory() {
        return admin != null && admin.configDir() != null ? admin.configDir() : configDirectory;
    }

    /**
     * The admin gRPC API ({@code gateway.admin}). By default a Unix socket that only this
     * process's user and root can use; TCP only when the file asks for it: plaintext on a
     * loopback address, or mutual TLS with per-role authorization on any address (DESIGN §5).
     * Exactly one of {@code socket} and {@code listen} is set.
     *
     * @param socket the Unix socket's path, or null for TCP
     * @param listen where it listens on TCP (port 0: any free port), or null for the socket
     * @param tls    mutual TLS and who may do what; null for the socket and for plaintext TCP
     * @param configDir the only directory LoadConfig and ValidateConfig read files from
     *                  ({@code config_dir}); null: the configuration file's directory
     * @param rateLimits per-client limits of expensive calls ({@code rate_limits}) that differ from
     *                  the defaults; applied with mutual TLS only (the other forms have no clients to tell apart)
     */
    public record Admin(Path socket, InetSocketAddress listen, AdminTls tls, Path configDir,
            Map<CallRateLimits.Group, CallRateLimits.Limit> rateLimits) {
        /** Checks that it is one of the three forms. */
        public Admin {
            if ((socket == null) == (listen == null) || socket != null && tls != null) {
                throw new IllegalArgumentException("the admin API is a Unix socket or a TCP address, with TLS"
                        + " only on TCP");
            }
            rateLimits = Map.copyOf(rateLimits);
        }

        /** The Unix socket at {@code path}. */
        public static Admin unixSocket(Path path) {
            return new Admin(path, null, null, null, Map.of());
        }

        /** Plaintext TCP; the reader allows it on loopback only. */
        public static Admin plaintextTcp(InetSocketAddress listen) {
            return new Admin(null, listen, null, null, Map.of());
        }

        /** Mutual TLS on TCP. */
        public static Admin mutualTls(InetSocketAddress listen, AdminTls tls) {
            return new Admin(null, listen, tls, null, Map.of());
        }

        /** This with {@code configDir} and {@code rateLimits}. */
        public Admin with(Path configDir, Map<CallRateLimits.Group, CallRateLimits.Limit> rateLimits) {
            return new Admin(socket, listen, tls, configDir, rateLimits);
        }

        /** Where and how it serves, for the start-up line. */
        public String describe(int port) {
            return socket != null ? "unix:" + socket + " (this user and root only)"
                    : listen.getHostString() + ":" + port + (tls == null ? " (plaintext, loopback)" : " (mutual TLS)");
        }
    }

    /**
     * Mutual TLS of the admin API: the server's PEM certificate chain and key, the CA that issues
     * client certificates, and the client identities (subject DN, CN, DNS or URI name) per role
     * ({@link GatewayAdminRoles}).
     */
    public record AdminTls(Path cert, Path key, Path clientCa, java.util.List<String> admins,
            java.util.List<String> operators, java.util.List<String> readers) {
        /** Copies the lists. */
        public AdminTls {
            admins = java.util.List.copyOf(admins);
            operators = java.util.List.copyOf(operators);
            readers = java.util.List.copyOf(readers);
        }
    }

    /**
     * The node's embedded sad-service member ({@code gateway.cluster}).
     *
     * @param nodeId    this node's id in the SAD (SA owner), [A-Za-z0-9._-]
     * @param name      Hazelcast cluster name: members with another name never join
     * @param bindHost  address the Hazelcast member binds to
     * @param port      Hazelcast member port
     * @param members   "host:port" of every member of an HA pair (this one may be listed); empty alone
     * @param kekFile   the cluster key-encryption key (64 hex digits), the same file on every member;
     *                  null on a single member: a fresh random KEK for this process
     */
    public record Cluster(String nodeId, String name, String bindHost, int port, java.util.List<String> members,
            Path kekFile) {
        /** Copies the list. */
        public Cluster {
            members = java.util.List.copyOf(members);
        }
    }

    /** The UDP endpoint IKE's 500 binds to. */
    public InetSocketAddress ikeEndpoint() {
        return new InetSocketAddress(address, ikePort);
    }

    /** The UDP endpoint ESP-in-UDP and NAT-T IKE bind to. */
    public InetSocketAddress natTEndpoint() {
        return new InetSocketAddress(address, natTPort);
    }
}
