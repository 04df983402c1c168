package dev.keel.gateway;

import dev.keel.policy.grpc.PolicyApiRoles;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.rpc.MethodRoles;
import dev.keel.rpc.RoleAuthorization;
import dev.keel.sad.grpc.SadApiRoles;
import io.grpc.MethodDescriptor;
import java.util.Map;

/**
 * Who may call what on the gateway's admin API, which serves PolicyService and SaService together
 * (DESIGN §5). Derived from the two services' own tables, so a method's rule lives in one place: a
 * reader gets what either service grants its readers, an admin gets everything.
 */
public final class GatewayAdminRoles {

    /** What an admin API caller may do. */
    public enum Role {
        /** Reads connections, policies and SAs, and watches them (monitoring, keelctl list). */
        READER,
        /** Every call: loads configurations, installs, deletes, claims SAs. */
        ADMIN
    }

    /** The role(s) each method needs; health and reflection are for any authenticated client. */
    public static final MethodRoles<Role> METHODS = table();

    private GatewayAdminRoles() {
    }

    private static MethodRoles<Role> table() {
        MethodRoles.Builder<Role> b = MethodRoles.builder(Role.class);
        for (MethodDescriptor<?, ?> m : PolicyServiceGrpc.getServiceDescriptor().getMethods()) {
            boolean read = PolicyApiRoles.METHODS.rolesFor(m.getFullMethodName()).contains(PolicyApiRoles.Role.READER);
            allow(b, m, read);
        }
        for (MethodDescriptor<?, ?> m : SaServiceGrpc.getServiceDescriptor().getMethods()) {
            boolean read = SadApiRoles.METHODS.rolesFor(m.getFullMethodName()).contains(SadApiRoles.Role.READER);
            allow(b, m, read);
        }
        return b.anyClient(MethodRoles.HEALTH_AND_REFLECTION).build();
    }

    private static void allow(MethodRoles.Builder<Role> b, MethodDescriptor<?, ?> m, boolean read) {
        if (read) {
            b.allow(m, Role.READER, Role.ADMIN);
        } else {
            b.allow(m, Role.ADMIN);
        }
    }

    /** The authorization interceptor for the configured identities. */
    public static RoleAuthorization<Role> authorization(GatewaySettings.AdminTls tls) {
        return RoleAuthorization.of(METHODS, Map.of(Role.ADMIN, tls.admins(), Role.READER, tls.readers()));
    }
}
