package dev.keel.gateway;

import dev.keel.core.config.ConfigProblem;
import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.proto.ChildKeyUnwrapper;
import dev.keel.esp.feed.SaMaintenance;
import dev.keel.esp.feed.WorkerFeeds;
import dev.keel.esp.tun.OwnedRoutes;
import dev.keel.ike.admin.IkeAdminService;
import dev.keel.ike.admin.LogControl;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.grpc.PolicyServer;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.sad.SadConfig;
import dev.keel.sad.SadNode;
import dev.keel.sad.grpc.SaGrpcService;
import dev.keel.sad.keys.KeyEncryptionKey;
import dev.keel.rpc.CallRateLimits;
import dev.keel.rpc.MutualTls;
import dev.keel.rpc.UnixSocketServer;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptor;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The services a gateway embeds next to the IKE engine: a sad-service member (Hazelcast) and
 * policy-service, both reached over in-process gRPC, exactly as separate processes would reach
 * them over the network; the data plane's feeds (SPD from policy-service, SAs from the SAD's
 * Watch stream, sequence leases) and the TUN routes that follow its SAs ({@link LanRoutes}); and
 * the admin gRPC API (PolicyService, SaService, IkeService, health, reflection) on its Unix socket
 * or the TCP address the file asks for; its IkeService serves the IKE engine once the node
 * {@linkplain IkeAdminService#attach attaches} it. Starting and closing block
 * (Hazelcast joins and leaves): never on an event loop.
 */
final class EmbeddedServices implements AutoCloseable {

    /** Hazelcast partitions of a gateway cluster (sad-service alone keeps Hazelcast's 271). */
    private static final int GATEWAY_PARTITIONS = 31;

    final SadNode sad;
    final PolicyStore policy;
    final WorkerFeeds feeds;
    /** The TUN routes that follow the data plane's outbound SAs ({@code routes: owned}), or null. */
    final OwnedRoutes routes;
    final ManagedChannel sadChannel;
    /** Unwraps the keys of IKE SAs this node takes over (the cluster KEK; only the owner unwraps). */
    final ChildKeyUnwrapper ikeKeys;
    /** keel.v1.IkeService on the admin API, or null without one: the node attaches its engine. */
    final IkeAdminService ikeAdmin;
    private final PolicyGrpcService policyService;
    private final PolicyServer policyServer;
    private final ManagedChannel policyChannel;
    private final Server admin;
    private final ExecutorService adminWatches;

    private EmbeddedServices(SadNode sad, PolicyStore policy, PolicyGrpcService policyService, PolicyServer policyServer,
            ManagedChannel sadChannel, ManagedChannel policyChannel, WorkerFeeds feeds, OwnedRoutes routes,
            Server admin, ExecutorService adminWatches, ChildKeyUnwrapper ikeKeys, IkeAdminService ikeAdmin) {
        this.sad = sad;
        this.ikeAdmin = ikeAdmin;
        this.ikeKeys = ikeKeys;
        this.policy = policy;
        this.policyService = policyService;
        this.policyServer = policyServer;
        this.sadChannel = sadChannel;
        this.policyChannel = policyChannel;
        this.feeds = feeds;
        this.routes = routes;
        this.admin = admin;
        this.adminWatches = adminWatches;
    }

    /**
     * Starts everything; on failure closes what was started and throws. {@code tunDevice}: the
     * name of the node's TUN interface, or null without one; {@code routed}: the interfaces of the
     * route-based connections (their SPDs and outlets are named in the data plane's tables before
     * the first SA arrives); {@code sadCalls}: counts the calls of the sad-service member, or null.
     */
    static EmbeddedServices start(GatewaySettings settings, PolicyConfig config, ExpiryListener expiries,
            String tunDevice, RouteInterfaces routed, ServerInterceptor sadCalls) throws IOException {
        GatewaySettings.Cluster c = settings.cluster();
        byte[] kek = null;
        Path tempKek = null;
        SadNode sad = null;
        PolicyServer policyServer = null;
        ManagedChannel sadChannel = null;
        ManagedChannel policyChannel = null;
        WorkerFeeds feeds = null;
        OwnedRoutes routes = null;
        Server admin = null;
        ExecutorService adminWatches = null;
        IkeAdminService ikeAdmin = null;
        try {
            Path kekFile = c.kekFile();
            if (kekFile == null) { // a single member: a KEK of its own, never written anywhere but a 0600 temp file
                kek = new byte[KeyEncryptionKey.LENGTH];
                new SecureRandom().nextBytes(kek);
                tempKek = Files.createTempFile("keel-kek", ".hex",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                KeyEncryptionKey.write(tempKek, kek);
                kekFile = tempKek;
            }
            SadConfig.Builder b = SadConfig.builder(c.nodeId(), kekFile);
            b.clusterName = c.name();
            b.bindHost = c.bindHost();
            b.hazelcastPort = c.port();
            b.members = c.members().isEmpty() ? List.of(c.bindHost() + ":" + c.port()) : c.members();
            // A gateway cluster is a pair or a few nodes: 31 partitions promote in a fraction of the time
            // 271 take when a member dies, which is on the failover path (docs/ha.md, "Where the time goes").
            b.partitionCount = GATEWAY_PARTITIONS;
            b.grpcPort = 0; // served in-process and on the admin address, not on a port of its own
            String sadName = "keel-sad-" + InProcessServerBuilder.generateName();
            InProcessServerBuilder sadServer = InProcessServerBuilder.forName(sadName);
            sad = SadNode.start(b.build(), sadCalls == null ? sadServer : sadServer.intercept(sadCalls));
            if (kek == null) {
                kek = readKek(kekFile); // SadNode has validated the file
            }
            sadChannel = InProcessChannelBuilder.forName(sadName).build();

            PolicyStore store = new PolicyStore(config);
            PolicyGrpcService policyService = policyService(settings, config, store);
            String policyName = "keel-policy-" + InProcessServerBuilder.generateName();
            policyServer = new PolicyServer(InProcessServerBuilder.forName(policyName), policyService).start();
            policyChannel = InProcessChannelBuilder.forName(policyName).build();

            feeds = new WorkerFeeds(policyChannel, sadChannel, c.nodeId(), new ChildKeyUnwrapper(kek),
                    SaMaintenance.Settings.defaults(), expiries);
            routes = LanRoutes.follow(settings, config, tunDevice, feeds.sas()); // before the first SA arrives
            feeds.spd().interfaces(routed.names());
            feeds.sas().outlets(routed::outletOf);
            feeds.sas().addOutboundListener(routed.carrier()); // carrier: sa follows the outbound SAs
            feeds.start();

            if (settings.admin() != null) {
                adminWatches = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("keel-admin-watch-", 0).factory());
                HealthStatusManager health = new HealthStatusManager();
                SaGrpcService saService = new SaGrpcService(sad.database(), sad.events(), adminWatches);
                SadNode member = sad;
                // a lone node's SAs name no owner in the listing (ike.proto IkeSaInfo.owner)
                IkeAdminService ike = new IkeAdminService(c.members().isEmpty() ? "" : c.nodeId(),
                        () -> member.cluster().liveMembers().size(), LogControl.NODE);
                admin = startAdmin(settings.admin(), server -> server
                        .addService(saService)
                        .addService(policyService)
                        .addService(ike)
                        .addService(health.getHealthService())
                        .addService(ProtoReflectionServiceV1.newInstance()));
                ikeAdmin = ike;
                health.setStatus("", ServingStatus.SERVING);
                health.setStatus(SaServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
                health.setStatus(PolicyServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
                health.setStatus(IkeServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
            }
            return new EmbeddedServices(sad, store, policyService, policyServer, sadChannel, policyChannel, feeds,
                    routes, admin, adminWatches, new ChildKeyUnwrapper(kek), ikeAdmin);
        } catch (IOException | RuntimeException e) {
            close(admin, adminWatches, feeds, routes, policyServer, policyChannel, sadChannel, sad);
            throw e;
        } finally {
            if (kek != null) {
                Arrays.fill(kek, (byte) 0);
            }
            if (tempKek != null) {
                Files.deleteIfExists(tempKek); // loaded: the member holds it in memory only
            }
        }
    }

    /**
     * The node's keel.v1.PolicyService over {@code store}: loads by path read only inside
     * {@code gateway.admin.config_dir}, and a configuration must keep the route-based interfaces
     * of {@code started}, the file the node started with ({@link StartInterfaces}), and be one the
     * IKE engine can take ({@link IkeConnections#problems}): else the SPD would change and IKE not.
     */
    static PolicyGrpcService policyService(GatewaySettings settings, PolicyConfig started, PolicyStore store) {
        StartInterfaces interfaces = StartInterfaces.of(started);
        return new PolicyGrpcService(new ConfigLoader(), store, settings.adminConfigDirectory(), loaded -> {
            List<ConfigProblem> problems = new ArrayList<>(interfaces.problems(loaded));
            problems.addAll(IkeConnections.problems(loaded, settings.ikePort(), settings.rawEsp()));
            return problems;
        });
    }

    private static byte[] readKek(Path file) throws IOException {
        byte[] raw = Files.readAllBytes(file);
        try {
            return HexFormat.of().parseHex(new String(raw, StandardCharsets.US_ASCII).strip());
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }

    /**
     * Starts the admin server with {@code services}: on the Unix socket (this user and root only),
     * with mutual TLS and per-role authorization, or plaintext TCP (the reader allows that on
     * loopback only).
     */
    static Server startAdmin(GatewaySettings.Admin admin, Consumer<ServerBuilder<?>> services) throws IOException {
        if (admin.socket() != null) {
            return new UnixSocketServer(admin.socket(), UnixSocketServer.sameUserOrRoot()).start(services);
        }
        GatewaySettings.AdminTls tls = admin.tls();
        NettyServerBuilder b = tls == null ? NettyServerBuilder.forAddress(admin.listen())
                : NettyServerBuilder.forAddress(admin.listen(), MutualTls.serverCredentials(tls.cert(), tls.key(),
                        tls.clientCa()))
                        .intercept(new CallRateLimits(admin.rateLimits())) // after the authorization: no role, no token
                        .intercept(GatewayAdminRoles.authorization(tls));
        services.accept(b);
        return b.build().start();
    }

    /** The admin API's port, or -1 without one. */
    int adminPort() {
        return admin == null ? -1 : admin.getPort();
    }

    @Override
    public void close() {
        close(admin, adminWatches, feeds, routes, policyServer, policyChannel, sadChannel, sad);
        ikeKeys.close();
    }

    private static void close(Server admin, ExecutorService adminWatches, WorkerFeeds feeds, OwnedRoutes routes,
            PolicyServer policyServer, ManagedChannel policyChannel, ManagedChannel sadChannel, SadNode sad) {
        if (admin != null) {
            admin.shutdownNow();
            try {
                admin.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (adminWatches != null) {
            adminWatches.shutdownNow();
        }
        if (feeds != null) {
            feeds.close();
        }
        if (routes != null) {
            routes.close(); // the routes left go with the TUN interface
        }
        if (policyServer != null) {
            policyServer.close();
        }
        if (policyChannel != null) {
            policyChannel.shutdownNow();
        }
        if (sadChannel != null) {
            sadChannel.shutdownNow();
        }
        if (sad != null) {
            sad.close();
        }
    }
}
