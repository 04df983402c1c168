package dev.keel.sad.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.config.Config;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.InterfacesConfig;
import com.hazelcast.config.JavaSerializationFilterConfig;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.ServerSocketEndpointConfig;
import com.hazelcast.internal.util.ConcurrencyUtil;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import com.hazelcast.config.MergePolicyConfig;
import com.hazelcast.config.SplitBrainProtectionConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import dev.keel.sad.SadConfig;
import dev.keel.sad.SadException;
import dev.keel.sad.keys.KeyEncryptionKey;
import dev.keel.sad.keys.RecordMac;
import dev.keel.sad.store.SaMergePolicies;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Hazelcast member of a sad-service node and its three maps. Open-source edition only: no
 * CP subsystem, no Hazelcast TLS (SA keys are wrapped instead, docs/sad.md).
 *
 * <ul>
 *   <li>{@value #CHILD_SAS}: SA id -> ChildSaRecord bytes</li>
 *   <li>{@value #IKE_SAS}: IKE SA id -> IkeSaRecord bytes</li>
 *   <li>{@value #SPIS}: inbound SPI (as int) -> SA id, or "" while only reserved (with a TTL)</li>
 * </ul>
 * Each has one synchronous backup, no asynchronous one, and its own split-brain merge policy.
 *
 * <p>Exposure of the member port (docs/sad.md, "What a member-level attacker can and cannot do"):
 * it is bound to the configured address only and serves members only (no client, REST or
 * memcache endpoint); the cluster name is the configured one plus a tag derived from the KEK, so
 * only members holding the KEK (or someone who read the name off the wire) find the cluster; Java
 * deserialization is limited to an allow-list; every record carries an integrity tag under a key
 * derived from the KEK ({@link RecordMac}), which is what keeps a member that joins without the
 * KEK from changing an SA.
 */
public final class SadCluster implements AutoCloseable {

    public static final String CHILD_SAS = "keel.sa.child";
    public static final String IKE_SAS = "keel.sa.ike";
    public static final String SPIS = "keel.sa.spi";
    /** Member attribute carrying the node id. */
    public static final String NODE_ATTRIBUTE = "keel.node";

    private static final String SPLIT_BRAIN_PROTECTION = "keel-sa-min-cluster";
    /**
     * How long an operation waits for its backup's acknowledgement. After that Hazelcast completes
     * the call with the primary's result alone; LeaseSequence refuses such a late grant (docs/sad.md).
     */
    public static final long BACKUP_TIMEOUT_MILLIS = 3000;

    private final SadConfig config;
    private final HazelcastInstance hz;
    private final RecordMac recordMac;
    private boolean closed;

    private SadCluster(SadConfig config, HazelcastInstance hz, RecordMac recordMac) {
        this.config = config;
        this.hz = hz;
        this.recordMac = recordMac;
    }

    /**
     * Hazelcast completes every future an IMap's asynchronous method returns (e.g. submitToKey)
     * through a stage on its JVM-wide default executor: ForkJoinPool.commonPool(), or, where that
     * pool has one thread (every 2-CPU machine), <b>a new thread per call</b> (measured: 62,000
     * thread starts for 20,000 installs, most of their CPU). Where that is the case, the default
     * becomes this small pool: the continuations are short and never block.
     */
    private static final Executor HAZELCAST_ASYNC = Executors.newFixedThreadPool(2,
            Thread.ofPlatform().daemon().name("keel-hz-async-", 0).factory());

    static {
        if (ConcurrencyUtil.getDefaultAsyncExecutor() != ForkJoinPool.commonPool()) {
            ConcurrencyUtil.setDefaultAsyncExecutor(HAZELCAST_ASYNC);
        }
    }

    /**
     * Starts a member (embedded in this JVM) and checks that its node id is unique.
     *
     * @param kek the cluster KEK: the cluster name and the records' tag key are derived from it
     */
    public static SadCluster start(SadConfig config, KeyEncryptionKey kek) {
        RecordMac mac = RecordMac.open(kek);
        HazelcastInstance hz;
        try {
            hz = Hazelcast.newHazelcastInstance(hazelcastConfig(config, kek));
        } catch (RuntimeException e) {
            mac.close();
            throw e;
        }
        for (Member m : hz.getCluster().getMembers()) {
            if (!m.localMember() && config.nodeId().equals(m.getAttribute(NODE_ATTRIBUTE))) {
                hz.getLifecycleService().terminate();
                mac.close();
                throw new IllegalStateException("node-id '" + config.nodeId() + "' is already used by member "
                        + m.getAddress() + "; every sad-service node needs its own");
            }
        }
        return new SadCluster(config, hz, mac);
    }

    /**
     * The Hazelcast cluster name: the configured name, '-', and 16 hex digits derived from the KEK
     * (HKDF-SHA256, its own label), so members with different KEKs (which would refuse each
     * other's records) never form one cluster, and the name cannot be guessed without the KEK. It
     * is not a secret from anyone who sees the member traffic: the join messages carry it in clear.
     */
    public static String clusterName(SadConfig c, KeyEncryptionKey kek) {
        return c.clusterName() + "-" + HexFormat.of().formatHex(kek.deriveBytes("keel-sad cluster name v1", 8));
    }

    /**
     * The Hazelcast configuration of a member: TCP-IP join (no multicast, no auto-detection),
     * a member endpoint on the bind address only, no client endpoint, a Java deserialization
     * allow-list, sub-second-to-seconds failure detection, fast merge checks, the SA maps.
     */
    static Config hazelcastConfig(SadConfig c, KeyEncryptionKey kek) {
        Config hc = new Config();
        hc.setClusterName(clusterName(c, kek));
        hc.setInstanceName("keel-sad-" + c.nodeId() + "-" + c.hazelcastPort());
        hc.getMemberAttributeConfig().setAttribute(NODE_ATTRIBUTE, c.nodeId());
        // A witness is a lite member: in the membership (and so in the lease quorum), no partitions.
        hc.setLiteMember(c.witness());

        // --- properties: logging, no phone-home, failure detection, merge ------------------
        hc.setProperty("hazelcast.logging.type", "jdk");
        hc.setProperty("hazelcast.phone.home.enabled", "false");
        hc.setProperty("hazelcast.shutdownhook.enabled", "false");
        hc.setProperty("hazelcast.partition.count", Integer.toString(c.partitionCount()));
        // A member is removed when silent for max-no-heartbeat (deadline detector, heartbeats
        // every second) -- the backstop for a partition or a hung host. A killed process is found
        // much sooner: its sockets are reset and the first reconnect is refused at once, which
        // (connection.monitor.max.faults 0) suspects and removes it: about 50 ms after the kill
        // instead of 250 ms with two more attempts 100 ms apart (docs/ha.md, "Where the time goes").
        hc.setProperty("hazelcast.heartbeat.failuredetector.type", "deadline");
        hc.setProperty("hazelcast.heartbeat.interval.seconds", Integer.toString(c.heartbeatIntervalSeconds()));
        hc.setProperty("hazelcast.max.no.heartbeat.seconds", Integer.toString(c.maxNoHeartbeatSeconds()));
        hc.setProperty("hazelcast.connection.monitor.interval", "100");
        hc.setProperty("hazelcast.connection.monitor.max.faults", "0");
        hc.setProperty("hazelcast.socket.connect.timeout.seconds", "1");
        hc.setProperty("hazelcast.operation.call.timeout.millis", "10000");
        hc.setProperty("hazelcast.operation.backup.timeout.millis", Long.toString(BACKUP_TIMEOUT_MILLIS));
        hc.setProperty("hazelcast.wait.seconds.before.join", "1");
        hc.setProperty("hazelcast.max.wait.seconds.before.join", "5");
        hc.setProperty("hazelcast.graceful.shutdown.max.wait", "20");
        hc.setProperty("hazelcast.merge.first.run.delay.seconds", Integer.toString(c.mergeFirstRunDelaySeconds()));
        hc.setProperty("hazelcast.merge.next.run.delay.seconds", Integer.toString(c.mergeNextRunDelaySeconds()));

        // --- network: a member endpoint on one address, no other; TCP-IP join on the list -------
        // The advanced network configuration has one server socket per endpoint; with only the
        // member endpoint configured, the port speaks the member protocol only: a Hazelcast client
        // (or REST, memcache) connection is closed at the protocol header. Outgoing member
        // connections bind to the same address.
        hc.setProperty("hazelcast.socket.bind.any", "false");
        hc.setProperty("hazelcast.socket.server.bind.any", "false");
        hc.setProperty("hazelcast.socket.client.bind.any", "false");
        hc.getJetConfig().setEnabled(false);
        hc.getAdvancedNetworkConfig().setEnabled(true).setMemberEndpointConfig(new ServerSocketEndpointConfig()
                .setPort(c.hazelcastPort())
                .setPortAutoIncrement(false)
                .setInterfaces(new InterfacesConfig().setEnabled(true).addInterface(c.bindHost()))
                .setPublicAddress(c.bindHost() + ":" + c.hazelcastPort()));
        JoinConfig join = hc.getAdvancedNetworkConfig().getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        join.getTcpIpConfig().setEnabled(true).setConnectionTimeoutSeconds(1);
        for (String m : c.members()) {
            join.getTcpIpConfig().addMember(m);
        }
        if (c.members().isEmpty()) {
            join.getTcpIpConfig().addMember(c.bindHost() + ":" + c.hazelcastPort());
        }

        // --- the SA maps ---------------------------------------------------------------------
        if (c.minClusterSize() > 1) {
            hc.addSplitBrainProtectionConfig(new SplitBrainProtectionConfig(SPLIT_BRAIN_PROTECTION, true,
                    c.minClusterSize()));
        }
        dev.keel.sad.store.SadSerialization.register(hc);
        hc.getSerializationConfig().setJavaSerializationFilterConfig(javaSerializationFilter());
        hc.addMapConfig(saMap(CHILD_SAS, SaMergePolicies.ChildSa.class, c));
        hc.addMapConfig(saMap(IKE_SAS, SaMergePolicies.IkeSa.class, c));
        hc.addMapConfig(saMap(SPIS, SaMergePolicies.Spi.class, c));
        return hc;
    }

    private static MapConfig saMap(String name, Class<?> mergePolicy, SadConfig c) {
        MapConfig m = new MapConfig(name)
                .setBackupCount(1)
                .setAsyncBackupCount(0)
                .setReadBackupData(false)
                .setInMemoryFormat(InMemoryFormat.BINARY)
                .setStatisticsEnabled(false)
                .setPerEntryStatsEnabled(false)
                .setMergePolicyConfig(new MergePolicyConfig(mergePolicy.getName(), MergePolicyConfig.DEFAULT_BATCH_SIZE));
        if (c.minClusterSize() > 1) {
            m.setSplitBrainProtectionName(SPLIT_BRAIN_PROTECTION);
        }
        return m;
    }

    /**
     * The classes Java deserialization may instantiate; nothing else, not even the rest of the JDK
     * (Hazelcast's defaults allow every {@code java*} class). What sad-service sends that way: its
     * entry processors, predicates and their results ({@code dev.keel.sad.store}), the JDK types
     * inside them, and exceptions in error responses (Hazelcast's own and the JDK's common ones,
     * with what a Throwable carries). Hazelcast's classes are allowed, but not the third-party
     * libraries shaded into its jar (one of them, HikariCP, is a known JNDI gadget).
     */
    static JavaSerializationFilterConfig javaSerializationFilter() {
        JavaSerializationFilterConfig f = new JavaSerializationFilterConfig().setDefaultsDisabled(true);
        f.getWhitelist()
                .addPrefixes("com.hazelcast.", "dev.keel.sad.store.")
                .addClasses(SadException.Kind.class.getName(),
                        "[B", "[Ljava.lang.Object;", "[Ljava.lang.String;",
                        "java.lang.Boolean", "java.lang.Enum", "java.lang.Integer", "java.lang.Long", "java.lang.Number",
                        "java.lang.Record", "java.lang.String",
                        "java.util.ArrayList", "java.util.HashMap", "java.util.HashSet", "java.util.LinkedHashMap",
                        "java.util.Collections$EmptyList", "java.util.Collections$UnmodifiableCollection",
                        "java.util.Collections$UnmodifiableList", "java.util.Collections$UnmodifiableRandomAccessList",
                        "java.lang.Throwable", "java.lang.Exception", "java.lang.RuntimeException", "java.lang.Error",
                        "java.lang.IllegalStateException", "java.lang.IllegalArgumentException",
                        "java.lang.NullPointerException", "java.lang.UnsupportedOperationException",
                        "java.lang.ClassCastException", "java.lang.ArithmeticException",
                        "java.lang.IndexOutOfBoundsException", "java.lang.ArrayIndexOutOfBoundsException",
                        "java.lang.SecurityException", "java.lang.StackTraceElement", "[Ljava.lang.StackTraceElement;",
                        "java.util.concurrent.CancellationException", "java.util.concurrent.CompletionException",
                        "java.util.concurrent.ExecutionException", "java.util.concurrent.TimeoutException");
        f.getBlacklist().addPrefixes("com.hazelcast.shaded.");
        return f;
    }

    public SadConfig config() {
        return config;
    }

    /** The tag key of this member's records. */
    public RecordMac recordMac() {
        return recordMac;
    }

    public HazelcastInstance hazelcast() {
        return hz;
    }

    public String nodeId() {
        return config.nodeId();
    }

    /** This process's incarnation: the local member UUID. */
    public String memberUuid() {
        return hz.getCluster().getLocalMember().getUuid().toString();
    }

    public IMap<String, byte[]> childSas() {
        return hz.getMap(CHILD_SAS);
    }

    public IMap<String, byte[]> ikeSas() {
        return hz.getMap(IKE_SAS);
    }

    public IMap<Integer, String> spis() {
        return hz.getMap(SPIS);
    }

    /**
     * Whether this member's cluster view holds the lease quorum (witnesses count): without it a
     * lease could overlap one granted on the other side of a split, so none is granted.
     */
    public boolean hasLeaseQuorum() {
        return config.leaseQuorum() == 0 || hz.getCluster().getMembers().size() >= config.leaseQuorum();
    }

    /** Members in this member's view, witnesses included. */
    public int memberCount() {
        return hz.getCluster().getMembers().size();
    }

    /** Member UUID -> node id of the current data members (witnesses excluded: they own no SAs), oldest first. */
    public Map<String, String> liveMembers() {
        Map<String, String> live = new LinkedHashMap<>();
        for (Member m : hz.getCluster().getMembers()) {
            if (m.isLiteMember()) {
                continue;
            }
            String node = m.getAttribute(NODE_ATTRIBUTE);
            live.put(m.getUuid().toString(), node == null ? m.getUuid().toString() : node);
        }
        return live;
    }

    /** The UUID of the live member with this node id, or null. */
    public String memberOf(String nodeId) {
        for (Map.Entry<String, String> e : liveMembers().entrySet()) {
            if (e.getValue().equals(nodeId)) {
                return e.getKey();
            }
        }
        return null;
    }

    /** Whether this member is the oldest (the cluster's master): the one that runs takeovers. */
    public boolean isOldest() {
        var it = hz.getCluster().getMembers().iterator();
        return it.hasNext() && it.next().localMember();
    }

    public boolean isRunning() {
        return hz.getLifecycleService().isRunning();
    }

    /** Leaves the cluster gracefully (partitions handed over first). */
    @Override
    public synchronized void close() {
        if (hz.getLifecycleService().isRunning()) {
            hz.shutdown();
        }
        if (!closed) {
            closed = true;
            recordMac.close();
        }
    }
}
