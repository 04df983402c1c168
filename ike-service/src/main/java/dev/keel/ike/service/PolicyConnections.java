package dev.keel.ike.service;

import dev.keel.core.net.IpAddress;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSyntaxException;
import dev.keel.core.proposal.Protocol;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.message.IkeIdentity;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.AuthMethod;
import dev.keel.proto.v1.Child;
import dev.keel.proto.v1.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * policy-service's connections (keel.v1.Connection from the Watch stream) as the engine's
 * {@link IkeConnection}s. Secrets never cross that API (policy.proto), so a PSK is looked up by
 * the connection's {@code secret_ref} in secrets this process holds. Certificate connections
 * need certificates and trust anchors that the API does not carry either: refused, by name.
 * UDP encapsulation is always forced, as in the gateway: the data plane speaks ESP in UDP only.
 */
public final class PolicyConnections {

    private PolicyConnections() {
    }

    /**
     * @param secrets secret name → PSK bytes (not copied; the caller keeps them)
     * @param ikePort the peers' IKE port (ours: both ends of a lab move it alike)
     * @throws IllegalArgumentException naming the connection and the problem
     */
    public static IkeConnection of(Connection c, Map<String, byte[]> secrets, int ikePort) {
        String at = "connection '" + c.getName() + "'";
        if (c.getLocal().getMethod() != AuthMethod.AUTH_METHOD_PSK || c.getRemote().getMethod() != AuthMethod.AUTH_METHOD_PSK) {
            throw new IllegalArgumentException(at + ": only PSK connections run in a standalone ike-service;"
                    + " certificates and trust anchors do not cross policy-service's API (run the gateway)");
        }
        byte[] psk = secrets.get(c.getLocal().getSecretRef());
        if (psk == null) {
            throw new IllegalArgumentException(at + ": no secret '" + c.getLocal().getSecretRef()
                    + "' given to this ike-service (--psk " + c.getLocal().getSecretRef() + "=ENV_VAR)");
        }
        List<ChildConnection> children = new ArrayList<>();
        for (Child ch : c.getChildrenList()) {
            children.add(child(at, ch));
        }
        byte[] copy = psk.clone();
        try {
            return new IkeConnection(c.getName(), addresses(c.getLocalAddrsList()), addresses(c.getRemoteAddrsList()),
                    ikePort, IkeIdentity.parse(c.getLocal().getId()), anyOrIdentity(c.getRemote().getId()),
                    new IkeConnection.Auth.Psk(copy), proposals(at, Protocol.IKE, c.getProposalsList()), true,
                    Duration.ofSeconds(c.getDpdDelaySeconds()), children);
        } finally {
            Arrays.fill(copy, (byte) 0);
        }
    }

    private static ChildConnection child(String at, Child ch) {
        String where = at + " child '" + ch.getName() + "'";
        return new ChildConnection(ch.getName(), CoreMapping.selectors(ch.getLocalTsList(), where + ": local_ts"),
                CoreMapping.selectors(ch.getRemoteTsList(), where + ": remote_ts"),
                proposals(where, Protocol.ESP, ch.getEspProposalsList()), CoreMapping.mode(ch.getMode(), where + ": mode"),
                Duration.ofSeconds(ch.getRekeyTimeSeconds()), Duration.ofSeconds(ch.getLifeTimeSeconds()),
                switch (ch.getStartAction()) {
                    case START_ACTION_START -> ChildConnection.StartAction.START;
                    case START_ACTION_TRAP -> ChildConnection.StartAction.TRAP;
                    default -> ChildConnection.StartAction.NONE;
                });
    }

    private static List<Proposal> proposals(String at, Protocol protocol, List<String> texts) {
        List<Proposal> out = new ArrayList<>();
        for (String t : texts) {
            try {
                out.add(Proposal.parse(protocol, t));
            } catch (ProposalSyntaxException e) {
                throw new IllegalArgumentException(at + ": proposal '" + t + "': " + e.getMessage());
            }
        }
        return out;
    }

    private static IkeIdentity anyOrIdentity(String id) {
        return id == null || id.isEmpty() || id.equals("%any") ? null : IkeIdentity.parse(id);
    }

    private static List<IpAddress> addresses(List<String> texts) {
        return texts.stream().filter(t -> !t.equals("%any")).map(IpAddress::parse).toList();
    }
}
