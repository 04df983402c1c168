package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.rpc.BadRequest;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.v1.ConfigSource;
import dev.keel.proto.v1.Connection;
import dev.keel.proto.v1.ListConnectionsRequest;
import dev.keel.proto.v1.LoadConfigRequest;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.ValidateConfigRequest;
import dev.keel.proto.v1.ValidateConfigResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a configuration loaded through the node's admin API must be beyond valid: keep the
 * route-based interfaces the node opened at start ({@link StartInterfaces}), and be one the IKE
 * engine can take ({@link IkeConnections#problems}). One that breaks either is refused with its key
 * path and changes nothing, and ValidateConfig says the same; other loads go through as before.
 * The node's own PolicyService over its admin socket, without root: no interface is opened here,
 * the service only compares.
 */
class LoadConfigLimitsTest {

    private static final String NODE = """
            gateway:
              address: 127.0.0.1
              plaintext:
                virtual_wire: {bind: 127.0.0.1:40999, host: 127.0.0.1:40998}
            """;

    private static final String SECRETS = """
            secrets:
              psk: {file: psk.txt}
            connections:
            """;

    private static final String AWS1 = """
              aws1:
                local_addrs: 192.0.2.1
                remote_addrs: 198.51.100.1
                local: {auth: psk, id: 192.0.2.1, secret: psk}
                remote: {auth: psk, id: 198.51.100.1}
                interface: {name: keel-aws1, addresses: [169.254.10.2/30]}
                children:
                  tun: {start_action: start}
            """;

    private static final String SITE_B = """
              site-b:
                local_addrs: 192.0.2.1
                remote_addrs: 203.0.113.9
                local: {auth: psk, id: 192.0.2.1, secret: psk}
                remote: {auth: psk, id: 203.0.113.9}
                children:
                  net: {local_ts: 10.1.0.0/16, remote_ts: 10.2.0.0/16}
            """;

    private static final String RESTART = "interfaces are opened at start; restart the node to add, change or"
            + " remove one";

    @TempDir
    Path dir;

    private Server server;
    private ManagedChannel channel;
    private PolicyStore store;

    @AfterEach
    void stop() {
        if (channel != null) {
            channel.shutdownNow();
        }
        if (server != null) {
            server.shutdownNow();
        }
    }

    @Test
    void aRouteBasedConnectionNewInALoadedConfigurationIsRefusedAndNothingChanges() throws Exception {
        start(SITE_B);
        long revision = store.current().revision();

        StatusRuntimeException e = refused(SITE_B + AWS1);
        assertThat(e.getStatus().getDescription()).isEqualTo("invalid configuration: 1 problem\n"
                + "new.yaml: connections.aws1.interface: new interface keel-aws1 [169.254.10.2/30] mtu 1400: "
                + RESTART);
        assertThat(badRequest(e)).containsExactly("connections.aws1.interface");
        assertThat(store.current().revision()).as("a refused load changes nothing").isEqualTo(revision);
        assertThat(connections()).containsExactly("site-b");

        assertThat(validate(SITE_B + AWS1)).containsExactly(
                "connections.aws1.interface: new interface keel-aws1 [169.254.10.2/30] mtu 1400: " + RESTART);
    }

    @Test
    void changingOrRemovingAnInterfaceTheNodeOpenedIsRefusedKeepingItLoadsAsBefore() throws Exception {
        start(AWS1 + SITE_B);
        long revision = store.current().revision();

        StatusRuntimeException moved = refused(AWS1.replace("169.254.10.2/30", "169.254.10.6/30") + SITE_B);
        assertThat(moved.getStatus().getDescription()).endsWith("new.yaml: connections.aws1.interface: interface"
                + " keel-aws1 [169.254.10.2/30] mtu 1400 would become keel-aws1 [169.254.10.6/30] mtu 1400: "
                + RESTART);
        assertThat(badRequest(moved)).containsExactly("connections.aws1.interface");
        assertThat(validate(AWS1.replace("}\n    children", ", mtu: 1300}\n    children") + SITE_B))
                .containsExactly("connections.aws1.interface: interface keel-aws1 [169.254.10.2/30] mtu 1400"
                        + " would become keel-aws1 [169.254.10.2/30] mtu 1300: " + RESTART);

        StatusRuntimeException gone = refused(SITE_B);
        assertThat(gone.getStatus().getDescription()).endsWith("new.yaml: connections.aws1.interface: interface"
                + " keel-aws1 [169.254.10.2/30] mtu 1400 would be removed with its connection: " + RESTART);
        assertThat(badRequest(gone)).containsExactly("connections.aws1.interface");
        assertThat(validate(AWS1.replaceAll("    interface: .*\n", "") + SITE_B)).as("policy-based now")
                .containsExactly("connections.aws1.interface: interface keel-aws1 [169.254.10.2/30] mtu 1400"
                        + " would be removed: " + RESTART);
        assertThat(store.current().revision()).as("refused loads change nothing").isEqualTo(revision);
        assertThat(connections()).containsExactly("aws1", "site-b");

        // the same interface (the default MTU written out) and another policy-based connection: loads
        String kept = AWS1.replace("169.254.10.2/30]}", "169.254.10.2/30], mtu: 1400}")
                .replace("start_action: start", "start_action: none") + SITE_B
                + SITE_B.replace("site-b", "site-c").replace("203.0.113.9", "203.0.113.10")
                        .replace("10.2.0.0/16", "10.3.0.0/16");
        assertThat(validate(kept)).isEmpty();
        assertThat(policy().loadConfig(load(kept)).getRevision()).isGreaterThan(revision);
        assertThat(connections()).containsExactly("aws1", "site-b", "site-c");
    }

    @Test
    void aConfigurationTheIkeEngineCannotTakeIsRefusedAndNothingChanges() throws Exception {
        start(SITE_B);
        long revision = store.current().revision();
        // valid as a policy (remote.auth defaults to pubkey), but IKE authenticates both sides the same way
        String mixed = SITE_B + SITE_B.replace("site-b", "site-c").replace("203.0.113.9", "203.0.113.10")
                .replace("10.2.0.0/16", "10.3.0.0/16").replace("remote: {auth: psk, id: 203.0.113.10}",
                        "remote: {id: 203.0.113.10}");

        StatusRuntimeException e = refused(mixed);
        assertThat(e.getStatus().getDescription()).isEqualTo("invalid configuration: 1 problem\n"
                + "new.yaml: connections.site-c: local.auth is psk but remote.auth is pubkey (remote defaults to"
                + " pubkey); Keel authenticates both sides the same way");
        assertThat(badRequest(e)).containsExactly("connections.site-c");
        assertThat(store.current().revision()).as("neither the SPD nor IKE changed").isEqualTo(revision);
        assertThat(connections()).containsExactly("site-b");
        assertThat(validate(mixed)).hasSize(1).first().asString().startsWith("connections.site-c: local.auth is psk");
    }

    /** Starts the node's PolicyService on its admin socket, the node having started with {@code connections}. */
    private void start(String connections) throws Exception {
        Files.writeString(dir.resolve("psk.txt"), "a-test-psk-of-enough-bytes\n");
        Files.writeString(dir.resolve("keel.yaml"), SECRETS + connections);
        ConfigResult started = new ConfigLoader().loadFile(dir.resolve("keel.yaml"));
        assertThat(started).as(started.toString()).isInstanceOf(ConfigResult.Valid.class);
        PolicyConfig config = ((ConfigResult.Valid) started).config();
        Path socket = dir.resolve("gw.sock");
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", NODE
                + "  admin: {socket: " + socket + ", config_dir: " + dir + "}\n");
        assertThat(r).as(r.toString()).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        GatewaySettings settings = ((GatewaySettingsReader.Result.Valid) r).settings();
        store = new PolicyStore(config);
        server = EmbeddedServices.startAdmin(settings.admin(), b -> b
                .addService(EmbeddedServices.policyService(settings, config, store)));
        channel = Grpc.newChannelBuilder("unix:" + socket, InsecureChannelCredentials.create()).build();
    }

    private PolicyServiceGrpc.PolicyServiceBlockingStub policy() {
        return PolicyServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    private static LoadConfigRequest load(String connections) {
        return LoadConfigRequest.newBuilder().setSource(source(connections)).build();
    }

    private static ConfigSource source(String connections) {
        return ConfigSource.newBuilder().setSourceName("new.yaml").setYamlText(SECRETS + connections).build();
    }

    private StatusRuntimeException refused(String connections) {
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                () -> policy().loadConfig(load(connections)));
        assertThat(e).as("LoadConfig refused").isNotNull();
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        return e;
    }

    /** ValidateConfig's problems, each as its key path and message. */
    private List<String> validate(String connections) {
        ValidateConfigResponse r = policy().validateConfig(ValidateConfigRequest.newBuilder()
                .setSource(source(connections)).build());
        assertThat(r.getValid()).isEqualTo(r.getProblemsCount() == 0);
        return r.getProblemsList().stream().map(p -> p.getPath() + ": " + p.getMessage()).toList();
    }

    private static List<String> badRequest(StatusRuntimeException e) throws Exception {
        com.google.rpc.Status s = StatusProto.fromThrowable(e);
        assertThat(s).isNotNull();
        return s.getDetails(0).unpack(BadRequest.class).getFieldViolationsList().stream()
                .map(BadRequest.FieldViolation::getField).toList();
    }

    private List<String> connections() {
        return policy().listConnections(ListConnectionsRequest.getDefaultInstance()).getConnectionsList().stream()
                .map(Connection::getName).toList();
    }
}
