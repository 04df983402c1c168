package dev.keel.ike.admin;

import dev.keel.ike.session.IkeSa;
import dev.keel.proto.v1.ChildSaInfo;
import dev.keel.proto.v1.IkeSaInfo;
import dev.keel.proto.v1.RekeyRequest;
import dev.keel.proto.v1.TerminateRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The SAs a Terminate or Rekey names (its {@code target} oneof): every IKE SA of a connection, one
 * IKE SA by unique id, every CHILD SA of a name, or one CHILD SA by unique id, found in a listing
 * of the node's IKE SAs. A request that names nothing is INVALID_ARGUMENT naming the field; one
 * whose name or id matches no SA is NOT_FOUND.
 */
record Targets(Kind kind, String name, long id) {

    /** How the request names its SAs. */
    enum Kind {
        IKE_BY_CONNECTION("ike"), IKE_BY_ID("ike_unique_id"), CHILD_BY_NAME("child"), CHILD_BY_ID("child_unique_id");

        final String field;

        Kind(String field) {
            this.field = field;
        }

        boolean ike() {
            return this == IKE_BY_CONNECTION || this == IKE_BY_ID;
        }
    }

    /** One IKE SA as it was read on its thread, with the SA itself to act on. */
    record View(IkeSa sa, IkeSaInfo info) {
    }

    /** One SA named: an IKE SA, or a CHILD SA ({@code child} set) of it. */
    record Target(View ike, ChildSaInfo child) {
    }

    /** What {@code request} names; INVALID_ARGUMENT when nothing or an empty name or id 0. */
    static Targets of(TerminateRequest request) {
        return switch (request.getTargetCase()) {
            case IKE -> named(Kind.IKE_BY_CONNECTION, request.getIke());
            case IKE_UNIQUE_ID -> byId(Kind.IKE_BY_ID, request.getIkeUniqueId());
            case CHILD -> named(Kind.CHILD_BY_NAME, request.getChild());
            case CHILD_UNIQUE_ID -> byId(Kind.CHILD_BY_ID, request.getChildUniqueId());
            case TARGET_NOT_SET -> throw missing();
        };
    }

    /** What {@code request} names; INVALID_ARGUMENT when nothing or an empty name or id 0. */
    static Targets of(RekeyRequest request) {
        return switch (request.getTargetCase()) {
            case IKE -> named(Kind.IKE_BY_CONNECTION, request.getIke());
            case IKE_UNIQUE_ID -> byId(Kind.IKE_BY_ID, request.getIkeUniqueId());
            case CHILD -> named(Kind.CHILD_BY_NAME, request.getChild());
            case CHILD_UNIQUE_ID -> byId(Kind.CHILD_BY_ID, request.getChildUniqueId());
            case TARGET_NOT_SET -> throw missing();
        };
    }

    private static StatusRuntimeException missing() {
        return Status.INVALID_ARGUMENT.withDescription("target: missing; name the SA by one of ike (a connection),"
                + " ike_unique_id, child (a child's name) or child_unique_id").asRuntimeException();
    }

    private static Targets named(Kind kind, String name) {
        if (name.isBlank()) {
            throw Status.INVALID_ARGUMENT.withDescription(kind.field + ": empty; give "
                    + (kind.ike() ? "a connection's name" : "a child's name")).asRuntimeException();
        }
        return new Targets(kind, name, 0);
    }

    private static Targets byId(Kind kind, long id) {
        if (id == 0) {
            throw Status.INVALID_ARGUMENT.withDescription(kind.field + ": 0 names no SA (unique ids start at 1;"
                    + " ListIkeSas shows them)").asRuntimeException();
        }
        return new Targets(kind, "", id);
    }

    /**
     * The SAs named among {@code views}; NOT_FOUND when none. {@code connectionKnown} tells a
     * connection without SAs from one not configured, for the message.
     */
    List<Target> resolve(List<View> views, Predicate<String> connectionKnown) {
        List<Target> out = new ArrayList<>();
        for (View v : views) {
            switch (kind) {
                case IKE_BY_CONNECTION -> {
                    if (v.info().getConnection().equals(name)) {
                        out.add(new Target(v, null));
                    }
                }
                case IKE_BY_ID -> {
                    if (v.info().getUniqueId() == id) {
                        out.add(new Target(v, null));
                    }
                }
                case CHILD_BY_NAME, CHILD_BY_ID -> {
                    for (ChildSaInfo c : v.info().getChildrenList()) {
                        if (kind == Kind.CHILD_BY_NAME ? c.getName().equals(name) : c.getUniqueId() == id) {
                            out.add(new Target(v, c));
                        }
                    }
                }
            }
        }
        if (out.isEmpty()) {
            throw Status.NOT_FOUND.withDescription(switch (kind) {
                case IKE_BY_CONNECTION -> "ike: no IKE SA of connection '" + name + "'"
                        + (connectionKnown.test(name) ? "" : " (no such connection)");
                case IKE_BY_ID -> "ike_unique_id: no IKE SA #" + id;
                case CHILD_BY_NAME -> "child: no CHILD SA named '" + name + "'";
                case CHILD_BY_ID -> "child_unique_id: no CHILD SA #" + id;
            }).asRuntimeException();
        }
        return out;
    }

    /** Whether one SA was named by its id (a precondition it fails is an error, not a skip). */
    boolean byId() {
        return kind == Kind.IKE_BY_ID || kind == Kind.CHILD_BY_ID;
    }
}
