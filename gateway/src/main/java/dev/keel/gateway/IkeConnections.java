package dev.keel.gateway;

import dev.keel.core.net.IpAddress;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.message.IkeIdentity;
import dev.keel.policy.config.AuthMethod;
import dev.keel.policy.config.ChildConfig;
import dev.keel.policy.config.ConnectionConfig;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.policy.config.Secret;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns policy-service's connections into what the IKE engine runs, resolving secrets. Keel's
 * data plane speaks ESP in UDP only (RFC 3948; raw ESP is not there yet), so every connection
 * forces UDP encapsulation, which RFC 7296 §2.23 lets an endpoint ask for by faking its NAT
 * detection hash; strongSwan's {@code encap = yes} does the same.
 */
final class IkeConnections {

    private IkeConnections() {
    }

    /**
     * The IKE connections of {@code config}; a peer's IKE port is assumed to be {@code ikePort},
     * ours (500 in production; labs on loopback move both gateways alike).
     *
     * @throws IllegalArgumentException naming the connection and the problem
     */
    static List<IkeConnection> of(PolicyConfig config, int ikePort) {
        List<IkeConnection> out = new ArrayList<>();
        for (ConnectionConfig c : config.connectionList()) {
            out.add(map(config, c, ikePort));
        }
        return out;
    }

    private static IkeConnection map(PolicyConfig config, ConnectionConfig c, int ikePort) {
        if (c.local().method() != AuthMethod.PSK || c.remote().method() != AuthMethod.PSK) {
            throw new IllegalArgumentException("connections." + c.name()
                    + ": only 'auth: psk' is wired into the gateway so far (certificates: docs/configuration.md)");
        }
        Secret secret = config.secrets().get(c.local().secretRef());
        if (secret == null) {
            throw new IllegalArgumentException("connections." + c.name() + ".local.secret: no resolved secret '"
                    + c.local().secretRef() + "'");
        }
        byte[] psk = secret.copy();
        List<ChildConnection> children = new ArrayList<>();
        for (ChildConfig ch : c.children()) {
            children.add(new ChildConnection(ch.name(), ch.localTs(), ch.remoteTs(), ch.espProposals(), ch.mode(),
                    ch.rekeyTime(), ch.lifeTime(), switch (ch.startAction()) {
                        case NONE -> ChildConnection.StartAction.NONE;
                        case TRAP -> ChildConnection.StartAction.TRAP;
                        case START -> ChildConnection.StartAction.START;
                    }));
        }
        try {
            return new IkeConnection(c.name(), addresses(c.localAddrs()), addresses(c.remoteAddrs()), ikePort,
                    IkeIdentity.parse(c.local().id()), anyOrIdentity(c.remote().id()),
                    new IkeConnection.Auth.Psk(psk), c.proposals(), true, c.dpdDelay(), children);
        } finally {
            java.util.Arrays.fill(psk, (byte) 0);
        }
    }

    private static IkeIdentity anyOrIdentity(String id) {
        return id == null || id.equals("%any") ? null : IkeIdentity.parse(id);
    }

    private static List<IpAddress> addresses(List<String> texts) {
        return texts.stream().filter(t -> !t.equals("%any")).map(IpAddress::parse).toList();
    }
}
