package dev.keel.gateway;

import dev.keel.core.net.IpRange;
import dev.keel.core.proposal.Protocol;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.ChildConnection.AfterClose;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.config.IkeLifetime;
import dev.keel.ike.message.IkeIdentity;
import dev.keel.policy.config.AuthMethod;
import dev.keel.policy.config.ChildConfig;
import dev.keel.core.config.ConfigProblem;
import dev.keel.policy.config.ConnectionConfig;
import dev.keel.policy.config.PemCredentials;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.policy.config.Secret;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns policy-service's connections into what the IKE engine runs, resolving secrets (a PSK,
 * or the private key of a certificate connection). A connection's {@code encap} forces UDP
 * encapsulation, which RFC 7296 §2.23 lets an endpoint ask for by faking its NAT detection hash
 * (strongSwan's {@code encap = yes} does the same); without it the hashes are honest and a CHILD
 * SA runs in UDP only when a NAT is found. A node without raw ESP ({@code gateway.raw_esp: no},
 * the default) forces encapsulation on every connection: its data plane speaks ESP in UDP only.
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
        return of(config, ikePort, false);
    }

    /** As {@link #of(PolicyConfig, int)}; with {@code rawEsp} the data plane can carry CHILD SAs without UDP. */
    static List<IkeConnection> of(PolicyConfig config, int ikePort, boolean rawEsp) {
        List<IkeConnection> out = new ArrayList<>();
        for (ConnectionConfig c : config.connectionList()) {
            out.add(map(config, c, ikePort, c.encap() || !rawEsp));
        }
        return out;
    }

    /**
     * What in {@code config} the IKE engine cannot take, as {@link #of} would throw it: none, or
     * the first problem with its key path (the admin API refuses such a load instead of updating
     * the SPD alone).
     */
    static List<ConfigProblem> problems(PolicyConfig config, int ikePort, boolean rawEsp) {
        try {
            of(config, ikePort, rawEsp);
            return List.of();
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            int colon = m.indexOf(": ");
            return List.of(colon > 0 ? new ConfigProblem(config.source(), m.substring(0, colon), 0, 0,
                    m.substring(colon + 2)) : new ConfigProblem(config.source(), "connections", 0, 0, m));
        }
    }

    private static IkeConnection map(PolicyConfig config, ConnectionConfig c, int ikePort, boolean encap) {
        String at = "connections." + c.name();
        if (c.local().method() != c.remote().method()) {
            // IkeConnection.Auth covers both directions; swanctl's mixed rounds are not wired (yet).
            throw new IllegalArgumentException(at + ": local.auth is " + name(c.local().method())
                    + " but remote.auth is " + name(c.remote().method())
                    + " (remote defaults to pubkey); Keel authenticates both sides the same way");
        }
        Secret secret = config.secrets().get(c.local().secretRef());
        if (secret == null) {
            throw new IllegalArgumentException(at + ".local.secret: no resolved secret '"
                    + c.local().secretRef() + "'");
        }
        List<ChildConnection> children = new ArrayList<>();
        for (ChildConfig ch : c.children()) {
            if (encap && ch.protocol() == Protocol.AH) {
                throw new IllegalArgumentException(at + ".children." + ch.name() + ".ah_proposals: AH runs over IP"
                        + " protocol 51 and cannot be UDP-encapsulated; it needs gateway.raw_esp: yes and no"
                        + " encap: yes on the connection");
            }
            children.add(new ChildConnection(ch.name(), ch.localTs(), ch.remoteTs(), ch.espProposals(), ch.mode(),
                    ch.lifetime(), switch (ch.startAction()) {
                        case NONE -> ChildConnection.StartAction.NONE;
                        case TRAP -> ChildConnection.StartAction.TRAP;
                        case START -> ChildConnection.StartAction.START;
                    }, switch (ch.dpdAction()) {
                        case CLEAR -> AfterClose.NONE;
                        case TRAP -> AfterClose.TRAP;
                        case RESTART -> AfterClose.START;
                    }, switch (ch.closeAction()) {
                        case NONE -> AfterClose.NONE;
                        case TRAP -> AfterClose.TRAP;
                        case START -> AfterClose.START;
                    }, ch.replayWindow()));
        }
        List<IpRange> local = IkeConnection.addresses(c.localAddrs());
        List<IpRange> remote = IkeConnection.addresses(c.remoteAddrs());
        IkeIdentity localId = IkeIdentity.parse(c.local().id());
        IkeIdentity remoteId = anyOrIdentity(c.remote().id());
        if (c.local().method() == AuthMethod.PUBKEY) {
            return new IkeConnection(c.name(), local, remote, ikePort, localId, remoteId, pubKey(at, c, secret),
                    c.proposals(), encap, c.dpdDelay(), children, lifetime(at, c))
                    .withFragmentation(IkeConnection.Fragmentation.parse(c.fragmentation()));
        }
        byte[] psk = secret.copy();
        try {
            return new IkeConnection(c.name(), local, remote, ikePort, localId, remoteId,
                    new IkeConnection.Auth.Psk(psk), c.proposals(), encap, c.dpdDelay(), children, lifetime(at, c))
                    .withFragmentation(IkeConnection.Fragmentation.parse(c.fragmentation()));
        } finally {
            java.util.Arrays.fill(psk, (byte) 0);
        }
    }

    /** The IKE SA lifetimes policy-service read (its defaults applied, rand_time below rekey_time checked). */
    private static IkeLifetime lifetime(String at, ConnectionConfig c) {
        try {
            return new IkeLifetime(c.rekeyTime(), c.overTime(), c.randTime(), c.reauthTime());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ": " + e.getMessage(), e);
        }
    }

    /**
     * Our key and chain and the peer's CAs (RFC 7427 signatures). policy-service has checked at
     * load that the key belongs to certs[0] and our identity is in it.
     */
    private static IkeConnection.Auth.PubKey pubKey(String at, ConnectionConfig c, Secret secret) {
        if (c.local().certs().isEmpty()) {
            throw new IllegalArgumentException(at + ".local.certs: 'auth: pubkey' needs our certificate chain"
                    + " (PEM files, end entity first)");
        }
        if (c.remote().cacerts().isEmpty()) {
            throw new IllegalArgumentException(at + ".remote.cacerts: 'auth: pubkey' needs the CA certificates"
                    + " the peer's certificate must chain to");
        }
        PrivateKey key;
        try {
            key = PemCredentials.privateKey(secret);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ".local.secret: " + e.getMessage());
        }
        return new IkeConnection.Auth.PubKey(key, c.local().certs(), c.remote().cacerts(), c.remote().crls(),
                c.local().rsaPss(), c.remote().rsaPss());
    }

    private static String name(AuthMethod method) {
        return method == AuthMethod.PSK ? "psk" : "pubkey";
    }

    private static IkeIdentity anyOrIdentity(String id) {
        return id == null || id.equals("%any") ? null : IkeIdentity.parse(id);
    }

}
