package dev.keel.sad;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Settings of one sad-service member, read once at start. Defaults are production values; see
 * docs/sad.md for what each one trades.
 *
 * @param nodeId stable, unique name of this node (the SA owner id); [A-Za-z0-9._-], 1..64
 * @param clusterName base of the Hazelcast cluster name (a tag derived from the KEK is appended);
 *        members with another name or another KEK never join
 * @param bindHost address the Hazelcast member binds and advertises: one address (not a wildcard)
 *        on the cluster's own link
 * @param hazelcastPort Hazelcast member port (no auto-increment)
 * @param members TCP-IP join list, "host:port" each (this member may be in it)
 * @param grpcPort gRPC port of the standalone server (0 = any free port)
 * @param grpcHost address the standalone gRPC server listens on; empty = {@code bindHost} (the
 *        API has mutual TLS and may face another network than the cluster's own link)
 * @param kekFile the cluster key-encryption key (64 hex digits)
 * @param spiReservationSeconds default lifetime of an AllocateSpi reservation
 * @param replayInitialMargin the replay margin an inbound SA is installed with: how far its first
 *        owner's data plane may accept before its first checkpoint, and what a takeover before
 *        that checkpoint costs the peer (docs/ha.md, "Sizing the margin"); the worker asks for
 *        the margin the SA needs at once
 * @param maintenanceIntervalMillis period of the lifetime / orphan / tombstone scan (oldest member)
 * @param tombstoneRetentionSeconds how long a deleted SA stays as a tombstone
 * @param watchLogSize events a member keeps for Watch clients that resume
 * @param heartbeatIntervalSeconds Hazelcast member heartbeat period
 * @param maxNoHeartbeatSeconds a member silent this long is removed (deadline detector)
 * @param mergeFirstRunDelaySeconds first split-brain merge check after start
 * @param mergeNextRunDelaySeconds period of split-brain merge checks
 * @param minClusterSize split-brain protection: SA maps refuse operations in a partition
 *        smaller than this (0 = off; see docs/sad.md)
 * @param partitionCount Hazelcast partition count
 * @param leaseQuorum members (witnesses included) that must be in this member's cluster view for
 *        LeaseSequence to grant numbers and for a takeover to run; -1 = a majority of
 *        {@code members} when it names three or more, else 0 (off; docs/sad.md, "Split brain")
 * @param witness this member holds no SA data and owns no SAs (a Hazelcast lite member); it only
 *        counts toward the lease quorum, e.g. the third vote of a two-gateway pair
 */
public record SadConfig(
        String nodeId,
        String clusterName,
        String bindHost,
        int hazelcastPort,
        List<String> members,
        int grpcPort,
        String grpcHost,
        Path kekFile,
        int spiReservationSeconds,
        long replayInitialMargin,
        long maintenanceIntervalMillis,
        int tombstoneRetentionSeconds,
        int watchLogSize,
        int heartbeatIntervalSeconds,
        int maxNoHeartbeatSeconds,
        int mergeFirstRunDelaySeconds,
        int mergeNextRunDelaySeconds,
        int minClusterSize,
        int partitionCount,
        int leaseQuorum,
        boolean witness) {

    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final Pattern HOST_PORT = Pattern.compile("[^\\s:]+:\\d{1,5}|\\[[0-9A-Fa-f:.]+\\]:\\d{1,5}");

    public SadConfig {
        Objects.requireNonNull(kekFile, "kek-file");
        grpcHost = grpcHost == null ? "" : grpcHost;
        members = List.copyOf(members);
        List<String> errors = new ArrayList<>();
        if (nodeId == null || !NODE_ID.matcher(nodeId).matches()) {
            errors.add("node-id: '" + nodeId + "' must be 1..64 of [A-Za-z0-9._-]");
        }
        if (clusterName == null || clusterName.isBlank()) {
            errors.add("cluster-name: must not be empty");
        }
        if (bindHost == null || bindHost.isBlank()) {
            errors.add("bind-host: must not be empty");
        } else if (isWildcard(bindHost)) {
            errors.add("bind-host: '" + bindHost + "' is every address; give the one address of the cluster's own link"
                    + " (the Hazelcast port must not be reachable from elsewhere, docs/sad.md)");
        }
        if (hazelcastPort < 1 || hazelcastPort > 65535) {
            errors.add("hazelcast-port: " + hazelcastPort + " is not in 1..65535");
        }
        if (grpcPort < 0 || grpcPort > 65535) {
            errors.add("grpc-port: " + grpcPort + " is not in 0..65535");
        }
        for (int i = 0; i < members.size(); i++) {
            if (!HOST_PORT.matcher(members.get(i)).matches()) {
                errors.add("members[" + i + "]: '" + members.get(i) + "' is not host:port");
            }
        }
        if (spiReservationSeconds < 1 || spiReservationSeconds > 3600) {
            errors.add("spi-reservation-seconds: " + spiReservationSeconds + " is not in 1..3600");
        }
        if (replayInitialMargin < 1 || replayInitialMargin > Validation.MAX_REPLAY_MARGIN) {
            errors.add("replay-initial-margin: " + replayInitialMargin + " is not in 1.." + Validation.MAX_REPLAY_MARGIN);
        }
        if (maintenanceIntervalMillis < 50) {
            errors.add("maintenance-interval-millis: " + maintenanceIntervalMillis + " is below 50");
        }
        if (tombstoneRetentionSeconds < 0) {
            errors.add("tombstone-retention-seconds: must not be negative");
        }
        if (watchLogSize < 16) {
            errors.add("watch-log-size: " + watchLogSize + " is below 16");
        }
        if (heartbeatIntervalSeconds < 1) {
            errors.add("heartbeat-interval-seconds: must be at least 1");
        }
        if (maxNoHeartbeatSeconds <= heartbeatIntervalSeconds) {
            errors.add("max-no-heartbeat-seconds: " + maxNoHeartbeatSeconds
                    + " must exceed heartbeat-interval-seconds " + heartbeatIntervalSeconds);
        }
        if (mergeFirstRunDelaySeconds < 1 || mergeNextRunDelaySeconds < 1) {
            errors.add("merge-*-delay-seconds: must be at least 1");
        }
        if (minClusterSize < 0) {
            errors.add("min-cluster-size: must not be negative");
        }
        if (leaseQuorum == -1) {
            leaseQuorum = members.size() >= 3 ? members.size() / 2 + 1 : 0;
        }
        if (leaseQuorum < 0) {
            errors.add("lease-quorum: " + leaseQuorum + " is negative (-1 = a majority of members)");
        }
        if (partitionCount < 1) {
            errors.add("partition-count: must be at least 1");
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("sad-service configuration: " + String.join("; ", errors));
        }
    }

    /** The address the standalone gRPC server listens on: {@code grpcHost}, or {@code bindHost}. */
    public String grpcListenHost() {
        return grpcHost.isEmpty() ? bindHost : grpcHost;
    }

    /** Whether a host is an IP literal for every local address (0.0.0.0, ::); host names are not resolved here. */
    private static boolean isWildcard(String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        try {
            return java.net.InetAddress.ofLiteral(h).isAnyLocalAddress();
        } catch (IllegalArgumentException notALiteral) {
            return false;
        }
    }

        private static boolean parseBoolean(String key, String v) {
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("argument --" + key + ": '" + v + "' is not true or false");
        };
    }

    /** Defaults for a node: all values but the identity, addresses and KEK file. */
    public static Builder builder(String nodeId, Path kekFile) {
        return new Builder(nodeId, kekFile);
    }

    /**
     * Parses {@code --key value} / {@code --key=value} arguments (keys as in the record
     * parameter docs, kebab-case; members comma-separated).
     */
    public static SadConfig fromArgs(String[] args) {
        Map<String, String> kv = new java.util.LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("argument " + (i + 1) + ": '" + a + "' is not --key value");
            }
            String k = a.substring(2);
            String v;
            int eq = k.indexOf('=');
            if (eq >= 0) {
                v = k.substring(eq + 1);
                k = k.substring(0, eq);
            } else if (i + 1 < args.length) {
                v = args[++i];
            } else {
                throw new IllegalArgumentException("argument --" + k + ": missing value");
            }
            kv.put(k, v);
        }
        String node = kv.remove("node-id");
        String kek = kv.remove("kek-file");
        if (node == null || kek == null) {
            throw new IllegalArgumentException("--node-id and --kek-file are required");
        }
        Builder b = builder(node, Path.of(kek));
        for (Map.Entry<String, String> e : kv.entrySet()) {
            String v = e.getValue();
            try {
                switch (e.getKey()) {
                    case "cluster-name" -> b.clusterName = v;
                    case "bind-host" -> b.bindHost = v;
                    case "hazelcast-port" -> b.hazelcastPort = Integer.parseInt(v);
                    case "members" -> b.members = v.isBlank() ? List.of() : List.of(v.split(","));
                    case "grpc-port" -> b.grpcPort = Integer.parseInt(v);
                    case "grpc-host" -> b.grpcHost = v;
                    case "spi-reservation-seconds" -> b.spiReservationSeconds = Integer.parseInt(v);
                    case "replay-initial-margin" -> b.replayInitialMargin = Long.parseLong(v);
                    case "maintenance-interval-millis" -> b.maintenanceIntervalMillis = Long.parseLong(v);
                    case "tombstone-retention-seconds" -> b.tombstoneRetentionSeconds = Integer.parseInt(v);
                    case "watch-log-size" -> b.watchLogSize = Integer.parseInt(v);
                    case "heartbeat-interval-seconds" -> b.heartbeatIntervalSeconds = Integer.parseInt(v);
                    case "max-no-heartbeat-seconds" -> b.maxNoHeartbeatSeconds = Integer.parseInt(v);
                    case "merge-first-run-delay-seconds" -> b.mergeFirstRunDelaySeconds = Integer.parseInt(v);
                    case "merge-next-run-delay-seconds" -> b.mergeNextRunDelaySeconds = Integer.parseInt(v);
                    case "min-cluster-size" -> b.minClusterSize = Integer.parseInt(v);
                    case "partition-count" -> b.partitionCount = Integer.parseInt(v);
                    case "lease-quorum" -> b.leaseQuorum = Integer.parseInt(v);
                    case "witness" -> b.witness = parseBoolean(e.getKey(), v);
                    default -> throw new IllegalArgumentException("argument --" + e.getKey() + ": unknown option");
                }
            } catch (NumberFormatException nfe) {
                throw new IllegalArgumentException("argument --" + e.getKey() + ": '" + v + "' is not a number");
            }
        }
        return b.build();
    }

    /** Mutable builder with the defaults. */
    public static final class Builder {
        public String nodeId;
        public Path kekFile;
        public String clusterName = "keel";
        public String bindHost = "127.0.0.1";
        public int hazelcastPort = 5701;
        public List<String> members = List.of();
        public int grpcPort = 7443;
        public String grpcHost = "";
        public int spiReservationSeconds = 300;
        /**
         * esp-worker's margin for a new SA (CheckpointRule.NEW_SA_MARGIN): a node killed between
         * the install and its first checkpoint leaves a floor the peer reaches after 64 packets.
         */
        public long replayInitialMargin = 64;
        public long maintenanceIntervalMillis = 5_000;
        public int tombstoneRetentionSeconds = 600;
        public int watchLogSize = 4_096;
        public int heartbeatIntervalSeconds = 1;
        public int maxNoHeartbeatSeconds = 3;
        public int mergeFirstRunDelaySeconds = 10;
        public int mergeNextRunDelaySeconds = 10;
        public int minClusterSize = 0;
        public int partitionCount = 271;
        public int leaseQuorum = -1;
        public boolean witness;

        Builder(String nodeId, Path kekFile) {
            this.nodeId = nodeId;
            this.kekFile = kekFile;
        }

        public SadConfig build() {
            return new SadConfig(nodeId, clusterName, bindHost, hazelcastPort, members, grpcPort, grpcHost, kekFile,
                    spiReservationSeconds, replayInitialMargin, maintenanceIntervalMillis, tombstoneRetentionSeconds,
                    watchLogSize, heartbeatIntervalSeconds, maxNoHeartbeatSeconds, mergeFirstRunDelaySeconds,
                    mergeNextRunDelaySeconds, minClusterSize, partitionCount, leaseQuorum, witness);
        }
    }
}
