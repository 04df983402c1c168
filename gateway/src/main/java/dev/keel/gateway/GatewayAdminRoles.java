package dev.keel.gateway;

import dev.keel.ike.admin.IkeAdminRoles;
import dev.keel.policy.grpc.PolicyApiRoles;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.rpc.MethodRoles;
import dev.keel.rpc.RoleAuthorization;
import dev.keel.sad.grpc.SadApiRoles;
import io.grpc.MethodDescriptor;
import java.util.Map;

/**
 * Who may call what on the gateway's admin API, which serves PolicyService, SaService and
 * IkeService together (DESIGN §5). Derived from the services' own tables, so a method's rule lives
 * in one place: a reader gets what any service grants its readers, an operator that and what
 * IkeService grants its operators (initiate, terminate, rekey), an admin everything.
 */
public final class GatewayAdminRoles {

    /** What an admin API caller may do; each role holds the rights of the ones before it. */
    public enum Role {
        /** Reads connections, policies, SAs and IKE SAs, and watches them (monitoring, keelctl --list-sas). */
        READER,
        /** Also initiates, terminates and rekeys IKE and CHILD SAs (keelctl --initiate, --terminate, --rekey). */
        OPERATOR,
        /** Every call: loads configurations, installs, deletes, claims SAs, sets log levels. */
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
            allow(b, m, read ? Role.READER : Role.ADMIN);
        }
        for (MethodDescriptor<?, ?> m : SaServiceGrpc.getServiceDescriptor().getMethods()) {
            boolean read = SadApiRoles.METHODS.rolesFor(m.getFullMethodName()).contains(SadApiRoles.Role.READER);
            allow(b, m, read ? Role.READER : Role.ADMIN);
            // sad-service's guarded fields (wrapped keys) are for the roles that install or run SAs, which
            // on the gateway only its admins hold: never readers or operators.
            for (var f : SadApiRoles.METHODS.guardedFields(m.getFullMethodName())) {
                b.guardField(m, f.field().getName(), Role.ADMIN);
            }
        }
        for (MethodDescriptor<?, ?> m : IkeServiceGrpc.getServiceDescriptor().getMethods()) {
            var roles = IkeAdminRoles.METHODS.rolesFor(m.getFullMethodName());
            allow(b, m, roles.contains(IkeAdminRoles.Role.READER) ? Role.READER
                    : roles.contains(IkeAdminRoles.Role.OPERATOR) ? Role.OPERATOR : Role.ADMIN);
        }
        return b.anyClient(MethodRoles.HEALTH_AND_REFLECTION).build();
    }

    /** {@code m} for {@code least} and every role after it. */
    private static void allow(MethodRoles.Builder<Role> b, MethodDescriptor<?, ?> m, Role least) {
        switch (least) {
            case READER -> b.allow(m, Role.READER, Role.OPERATOR, Role.ADMIN);
            case OPERATOR -> b.allow(m, Role.OPERATOR, Role.ADMIN);
            case ADMIN -> b.allow(m, Role.ADMIN);
        }
    }

    /** The authorization interceptor for the configured identities; refusals go to {@code RefusedCalls.process()}. */
    public static RoleAuthorization<Role> authorization(GatewaySettings.AdminTls tls) {
        return RoleAuthorization.of(METHODS, Map.of(Role.ADMIN, tls.admins(), Role.OPERATOR, tls.operators(),
                Role.READER, tls.readers()));
    }
}
