package dev.keel.ike.service;

import com.google.protobuf.ByteString;
import dev.keel.core.crypto.PemKeys;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSyntaxException;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.ChildLifetime;
import dev.keel.core.sa.ReplayWindowSize;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.ChildConnection.AfterClose;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.config.IkeLifetime;
import dev.keel.ike.message.IkeIdentity;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.AuthMethod;
import dev.keel.proto.v1.Child;
import dev.keel.proto.v1.Connection;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * policy-service's connections (keel.v1.Connection from the Watch stream) as the engine's
 * {@link IkeConnection}s. Secrets never cross that API (policy.proto), so the key material is
 * looked up by the connection's {@code secret_ref} in secrets this process holds: a PSK, or for
 * {@code auth: pubkey} the PEM private key; the certificate chain and the peer's CAs, public,
 * come with the connection, and the key must belong to the chain's end entity. UDP encapsulation
 * is always forced, as in a gateway without {@code raw_esp}: the split esp-worker speaks ESP in UDP only.
 */
public final class PolicyConnections {

    private PolicyConnections() {
    }

    /**
     * @param secrets secret name → PSK bytes, or PEM private key text (not copied; the caller keeps them)
     * @param ikePort the peers' IKE port (ours: both ends of a lab move it alike)
     * @throws IllegalArgumentException naming the connection and the problem
     */
    public static IkeConnection of(Connection c, Map<String, byte[]> secrets, int ikePort) {
        String at = "connection '" + c.getName() + "'";
        boolean pubkey = c.getLocal().getMethod() == AuthMethod.AUTH_METHOD_PUBKEY;
        if (c.getLocal().getMethod() != c.getRemote().getMethod() || !pubkey
                && c.getLocal().getMethod() != AuthMethod.AUTH_METHOD_PSK) {
            throw new IllegalArgumentException(at + ": local " + c.getLocal().getMethod() + " and remote "
                    + c.getRemote().getMethod() + ": both sides psk or both pubkey");
        }
        String ref = c.getLocal().getSecretRef();
        byte[] secret = secrets.get(ref);
        if (secret == null) {
            throw new IllegalArgumentException(at + ": no secret '" + ref + "' given to this ike-service ("
                    + (pubkey ? "--key " + ref + "=PEM_FILE" : "--psk " + ref + "=ENV_VAR") + ")");
        }
        List<ChildConnection> children = new ArrayList<>();
        for (Child ch : c.getChildrenList()) {
            children.add(child(at, ch));
        }
        IkeIdentity localId = IkeIdentity.parse(c.getLocal().getId());
        List<Proposal> proposals = proposals(at, Protocol.IKE, c.getProposalsList());
        if (pubkey) {
            return new IkeConnection(c.getName(), IkeConnection.addresses(c.getLocalAddrsList()), IkeConnection.addresses(c.getRemoteAddrsList()),
                    ikePort, localId, anyOrIdentity(c.getRemote().getId()), pubKey(at, c, ref, secret), proposals,
                    true, Duration.ofSeconds(c.getDpdDelaySeconds()), children, lifetime(at, c))
                    .withFragmentation(fragmentation(at, c)).withMobike(mobike(c));
        }
        byte[] copy = secret.clone();
        try {
            return new IkeConnection(c.getName(), IkeConnection.addresses(c.getLocalAddrsList()), IkeConnection.addresses(c.getRemoteAddrsList()),
                    ikePort, localId, anyOrIdentity(c.getRemote().getId()), new IkeConnection.Auth.Psk(copy),
                    proposals, true, Duration.ofSeconds(c.getDpdDelaySeconds()), children, lifetime(at, c))
                    .withFragmentation(fragmentation(at, c)).withMobike(mobike(c));
        } finally {
            Arrays.fill(copy, (byte) 0);
        }
    }

    /** The connection's {@code mobike} (RFC 4555); unset (an older policy-service) is swanctl's default, yes. */
    private static boolean mobike(Connection c) {
        return !c.hasMobike() || c.getMobike();
    }

    /** The connection's {@code fragmentation} (RFC 7383); unset (an older policy-service) is swanctl's default, yes. */
    private static IkeConnection.Fragmentation fragmentation(String at, Connection c) {
        try {
            return IkeConnection.Fragmentation.parse(c.getFragmentation());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ": " + e.getMessage(), e);
        }
    }

    /** The IKE SA lifetimes policy-service resolved (its defaults applied). */
    private static IkeLifetime lifetime(String at, Connection c) {
        try {
            return IkeLifetime.ofSeconds(c.getRekeyTimeSeconds(), c.getOverTimeSeconds(), c.getRandTimeSeconds(),
                    c.getReauthTimeSeconds());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ": " + e.getMessage(), e);
        }
    }

    /** Our key (this host's file) with the chain and the peer's CAs policy-service sent (RFC 7427 signatures). */
    private static IkeConnection.Auth.PubKey pubKey(String at, Connection c, String ref, byte[] pem) {
        List<X509Certificate> chain = certificates(at + ": local.certs", c.getLocal().getCertsList());
        List<X509Certificate> cas = certificates(at + ": remote.cacerts", c.getRemote().getCacertsList());
        if (chain.isEmpty() || cas.isEmpty()) {
            throw new IllegalArgumentException(at + ": 'auth: pubkey' needs our certificate chain and the peer's CA"
                    + " certificates from policy-service (" + chain.size() + " and " + cas.size() + " came)");
        }
        PrivateKey key;
        try {
            key = PemKeys.privateKey(pem);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + ": key '" + ref + "' " + e.getMessage());
        }
        if (!PemKeys.supported(key) || !PemKeys.matches(key, chain.getFirst().getPublicKey())) {
            throw new IllegalArgumentException(at + ": key '" + ref + "' (" + key.getAlgorithm() + ") is not the"
                    + " private key of our certificate '" + chain.getFirst().getSubjectX500Principal() + "'");
        }
        return new IkeConnection.Auth.PubKey(key, chain, cas, crls(at + ": remote.crls", c.getRemote().getCrlsList()),
                c.getLocal().getRsaPss(), c.getRemote().getRsaPss());
    }

    private static List<java.security.cert.X509CRL> crls(String at, List<ByteString> ders) {
        List<java.security.cert.X509CRL> out = new ArrayList<>();
        try {
            CertificateFactory x509 = CertificateFactory.getInstance("X.509");
            for (ByteString der : ders) {
                out.add((java.security.cert.X509CRL) x509.generateCRL(der.newInput()));
            }
        } catch (CertificateException | java.security.cert.CRLException e) {
            throw new IllegalArgumentException(at + "[" + out.size() + "]: not a DER CRL (" + e.getMessage() + ")");
        }
        return out;
    }

    private static List<X509Certificate> certificates(String at, List<ByteString> ders) {
        List<X509Certificate> out = new ArrayList<>();
        try {
            CertificateFactory x509 = CertificateFactory.getInstance("X.509");
            for (ByteString der : ders) {
                out.add((X509Certificate) x509.generateCertificate(der.newInput()));
            }
        } catch (CertificateException e) {
            throw new IllegalArgumentException(at + "[" + out.size() + "]: not a DER certificate (" + e.getMessage()
                    + ")");
        }
        return out;
    }

    private static ChildConnection child(String at, Child ch) {
        String where = at + " child '" + ch.getName() + "'";
        ChildLifetime lifetime;
        try {
            lifetime = new ChildLifetime(
                    new ChildLifetime.Limit(ch.getRekeyTimeSeconds() * 1000, ch.getLifeTimeSeconds() * 1000,
                            ch.getRandTimeSeconds() * 1000),
                    new ChildLifetime.Limit(ch.getRekeyBytes(), ch.getLifeBytes(), ch.getRandBytes()),
                    new ChildLifetime.Limit(ch.getRekeyPackets(), ch.getLifePackets(), ch.getRandPackets()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": lifetime: " + e.getMessage(), e);
        }
        return new ChildConnection(ch.getName(), CoreMapping.selectors(ch.getLocalTsList(), where + ": local_ts"),
                CoreMapping.selectors(ch.getRemoteTsList(), where + ": remote_ts"),
                ch.getAhProposalsCount() > 0 ? proposals(where, Protocol.AH, ch.getAhProposalsList())
                        : proposals(where, Protocol.ESP, ch.getEspProposalsList()),
                CoreMapping.mode(ch.getMode(), where + ": mode"),
                lifetime,
                switch (ch.getStartAction()) {
                    case START_ACTION_START -> ChildConnection.StartAction.START;
                    case START_ACTION_TRAP -> ChildConnection.StartAction.TRAP;
                    default -> ChildConnection.StartAction.NONE;
                },
                switch (ch.getDpdAction()) {
                    case DPD_ACTION_RESTART -> AfterClose.START;
                    case DPD_ACTION_TRAP -> AfterClose.TRAP;
                    default -> AfterClose.NONE;
                },
                switch (ch.getCloseAction()) {
                    case CLOSE_ACTION_START -> AfterClose.START;
                    case CLOSE_ACTION_TRAP -> AfterClose.TRAP;
                    default -> AfterClose.NONE;
                },
                ch.hasReplayWindow() ? ch.getReplayWindow() : ReplayWindowSize.DEFAULT);
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

}
