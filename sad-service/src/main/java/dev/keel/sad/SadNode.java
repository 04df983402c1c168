package dev.keel.sad;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.sad.cluster.OwnershipKeeper;
import dev.keel.sad.cluster.SadCluster;
import dev.keel.sad.grpc.SadServer;
import dev.keel.sad.keys.KeyEncryptionKey;
import dev.keel.sad.keys.KeyWrap;
import dev.keel.sad.store.Records;
import dev.keel.sad.watch.SaEventHub;
import io.grpc.ServerBuilder;
import java.io.IOException;

/**
 * One sad-service node: the Hazelcast member, the ownership keeper, the SA database, the event
 * hub and (optionally) the gRPC server. The gateway embeds one; {@link SadMain} runs one alone.
 */
public final class SadNode implements AutoCloseable {

    private final KeyEncryptionKey kek;
    private final SadCluster cluster;
    private final OwnershipKeeper keeper;
    private final SaDatabase database;
    private final SaEventHub hub;
    private final SadServer server;

    private SadNode(KeyEncryptionKey kek, SadCluster cluster, ServerBuilder<?> serverBuilder) throws IOException {
        this.kek = kek;
        this.cluster = cluster;
        this.database = new SaDatabase(cluster, new KeyWrap(kek));
        this.hub = new SaEventHub(cluster, cluster.config().watchLogSize(), this::onChildChange);
        this.keeper = new OwnershipKeeper(cluster);
        this.server = serverBuilder == null ? null : new SadServer(serverBuilder, database, hub).start();
    }

    /**
     * Loads the KEK, joins the cluster and starts serving.
     *
     * @param serverBuilder the gRPC transport, or null for an embedded node without its own server
     */
    public static SadNode start(SadConfig config, ServerBuilder<?> serverBuilder) throws IOException {
        KeyEncryptionKey kek = KeyEncryptionKey.load(config.kekFile());
        SadCluster cluster;
        try {
            cluster = SadCluster.start(config, kek);
        } catch (RuntimeException e) {
            kek.close();
            throw e;
        }
        try {
            return new SadNode(kek, cluster, serverBuilder);
        } catch (IOException | RuntimeException e) {
            cluster.close();
            kek.close();
            throw e;
        }
    }

    private void onChildChange(ChildSaRecord r) {
        if (!Records.isLive(r) || !r.getOwnerNodeId().equals(cluster.nodeId())) {
            database.forgetKeys(r.getId());
        }
    }

    public SaDatabase database() {
        return database;
    }

    public SaEventHub events() {
        return hub;
    }

    public SadCluster cluster() {
        return cluster;
    }

    public OwnershipKeeper keeper() {
        return keeper;
    }

    /** The gRPC port, or -1 without a network server. */
    public int grpcPort() {
        return server == null ? -1 : server.port();
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
        keeper.close();
        hub.close();
        cluster.close();
        kek.close();
    }
}
