package dev.keel.ike.config;

import dev.keel.core.net.IpAddress;
import dev.keel.core.proposal.Proposal;
import dev.keel.ike.message.IkeIdentity;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What the IKE engine needs of one connection: addresses, identities, authentication, IKE
 * proposals and children. Built by whoever owns configuration (the gateway maps
 * policy-service's connections and resolves their secrets); {@link #toString()} never shows a
 * secret.
 *
 * @param name        unique name
 * @param localAddrs  our addresses; empty for any
 * @param remoteAddrs the peer's addresses; empty for any (responder only)
 * @param remotePort  the peer's IKE port (500 unless a lab moves it)
 * @param localId     our identity (IDi as initiator, IDr as responder)
 * @param remoteId    the identity we require of the peer; null accepts any that authenticates
 * @param auth        how both sides authenticate
 * @param proposals   IKE proposals in order of preference
 * @param encap       force UDP encapsulation even without a NAT (RFC 7296 §2.23 allows faking
 *                    the NAT_DETECTION_SOURCE_IP hash for it)
 * @param dpdDelay    liveness check interval when idle, zero disables
 * @param children    CHILD_SA configurations
 */
public record IkeConnection(String name, List<IpAddress> localAddrs, List<IpAddress> remoteAddrs, int remotePort,
        IkeIdentity localId, IkeIdentity remoteId, Auth auth, List<Proposal> proposals, boolean encap,
        Duration dpdDelay, List<ChildConnection> children) {

    /** Copies the lists. */
    public IkeConnection {
        localAddrs = List.copyOf(localAddrs);
        remoteAddrs = List.copyOf(remoteAddrs);
        proposals = List.copyOf(proposals);
        children = List.copyOf(children);
    }

    /** The child named {@code child}. */
    public Optional<ChildConnection> child(String child) {
        return children.stream().filter(c -> c.name().equals(child)).findFirst();
    }

    /** The peer's IKE endpoint for an initiation: its first address. */
    public InetSocketAddress remoteEndpoint() {
        if (remoteAddrs.isEmpty()) {
            throw new IllegalStateException("connection '" + name + "' has no remote address to initiate to");
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(remoteAddrs.getFirst().bytes()), remotePort);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("4 or 16 bytes always make an address", e);
        }
    }

    /** True when this connection may serve a peer at {@code address}. */
    public boolean acceptsRemote(IpAddress address) {
        return remoteAddrs.isEmpty() || remoteAddrs.contains(address);
    }

    @Override
    public String toString() {
        return "IkeConnection[" + name + " " + localId + " <-> " + (remoteId == null ? "%any" : remoteId)
                + ", " + auth.kind() + "]";
    }

    /** How both sides authenticate; the secret parts never print. */
    public sealed interface Auth {

        /** "psk" or "pubkey". */
        String kind();

        /** Both sides prove knowledge of one shared key (RFC 7296 §2.15). */
        record Psk(byte[] secret) implements Auth {
            /** Copies the secret. */
            public Psk {
                secret = secret.clone();
            }

            @Override
            public String kind() {
                return "psk";
            }

            @Override
            public String toString() {
                return "Psk[redacted]";
            }
        }

        /**
         * We sign with {@code key} and send {@code chain} (end entity first); the peer's chain must
         * validate to one of {@code trustAnchors} (RFC 7427 digital signatures).
         */
        record PubKey(PrivateKey key, List<X509Certificate> chain, List<X509Certificate> trustAnchors) implements Auth {
            /** Copies the lists. */
            public PubKey {
                chain = List.copyOf(chain);
                trustAnchors = List.copyOf(trustAnchors);
            }

            @Override
            public String kind() {
                return "pubkey";
            }

            @Override
            public String toString() {
                return "PubKey[" + chain.getFirst().getSubjectX500Principal() + "]";
            }
        }
    }
}
