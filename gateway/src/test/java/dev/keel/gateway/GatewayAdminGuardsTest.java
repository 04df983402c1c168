package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.rpc.CallRateLimits;
import dev.keel.rpc.MethodRoles;
import dev.keel.sad.grpc.SadApiRoles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin API's guards on the gateway: {@code gateway.admin.config_dir} and
 * {@code rate_limits} read from the node file, and wrapped keys only for admins.
 */
class GatewayAdminGuardsTest {

    private static final String BASE = """
            gateway:
              address: 127.0.0.1
              plaintext: {virtual_wire: {bind: 127.0.0.1:20001, host: 127.0.0.1:21001}}
            """;

    @TempDir
    Path dir;

    @Test
    void configDirDefaultsToTheFilesDirectoryAndIsResolvedAgainstIt() throws Exception {
        Files.createDirectories(dir.resolve("loadable"));
        Path file = Files.writeString(dir.resolve("node.yaml"), BASE + "  admin: {socket: admin/gw.sock,"
                + " config_dir: loadable}\n");
        GatewaySettings s = valid(file);
        assertThat(s.adminConfigDirectory()).isEqualTo(dir.resolve("loadable"));
        Path plain = Files.writeString(dir.resolve("plain.yaml"), BASE);
        assertThat(valid(plain).adminConfigDirectory()).isEqualTo(dir);
        Path missing = Files.writeString(dir.resolve("bad.yaml"), BASE + "  admin: {socket: admin/gw.sock,"
                + " config_dir: nowhere}\n");
        assertThat(problems(missing)).singleElement().asString()
                .contains("gateway.admin.config_dir: '" + dir.resolve("nowhere") + "' is not a directory");
    }

    @Test
    void rateLimitsOverrideTheDefaultsPerGroupAndBadOnesAreNamed() throws Exception {
        String tls = "  admin:\n    listen: 127.0.0.1:0\n    plaintext: true\n";
        Path plaintext = Files.writeString(dir.resolve("p.yaml"), BASE + tls + "    rate_limits: {list: 5}\n");
        assertThat(problems(plaintext)).singleElement().asString()
                .contains("gateway.admin.rate_limits: not with 'plaintext: true'");
        // Only with mutual TLS: the socket has no client identities to give buckets to either.
        Path socket = Files.writeString(dir.resolve("s.yaml"), BASE + "  admin:\n    socket: admin/gw.sock\n"
                + "    rate_limits: {config: 2/1}\n");
        assertThat(problems(socket)).singleElement().asString().contains("gateway.admin.rate_limits: not with 'socket'");
        assertThat(CallRateLimits.Limit.parse("2/1")).isEqualTo(new CallRateLimits.Limit(2, 1));
    }

    @Test
    void wrappedKeysOnTheGatewayAreForAdminsOnly() {
        for (var m : List.of(SaServiceGrpc.getGetChildSaMethod(), SaServiceGrpc.getGetIkeSaMethod(),
                SaServiceGrpc.getWatchMethod())) {
            List<MethodRoles.GuardedField<GatewayAdminRoles.Role>> fields =
                    GatewayAdminRoles.METHODS.guardedFields(m.getFullMethodName());
            assertThat(fields).as(m.getFullMethodName()).singleElement().satisfies(f -> {
                assertThat(f.field().getName()).isEqualTo(SadApiRoles.WRAPPED_KEYS);
                assertThat(f.roles()).containsExactly(GatewayAdminRoles.Role.ADMIN);
            });
            // readers may still call the method itself, without the field
            assertThat(GatewayAdminRoles.METHODS.rolesFor(m.getFullMethodName()))
                    .contains(GatewayAdminRoles.Role.READER, GatewayAdminRoles.Role.OPERATOR);
        }
    }

    private static GatewaySettings valid(Path file) {
        GatewaySettingsReader.Result r = GatewaySettingsReader.read(file);
        assertThat(r).as(r.toString()).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        return ((GatewaySettingsReader.Result.Valid) r).settings();
    }

    private static List<String> problems(Path file) {
        GatewaySettingsReader.Result r = GatewaySettingsReader.read(file);
        assertThat(r).as(r.toString()).isInstanceOf(GatewaySettingsReader.Result.Invalid.class);
        return ((GatewaySettingsReader.Result.Invalid) r).problems();
    }
}
