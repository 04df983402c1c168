package dev.keel.ike.config;

import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpRange;
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
 * @param localAddrs  our addresses (single addresses, prefixes as ranges, ranges); empty for any
 * @param remoteAddrs the peer's addresses, as {@code localAddrs}; empty for any. Only a connection
 *                    whose first remote entry is one address can initiate (to that address)
 * @param remotePort  the peer's IKE port (500 unless a lab moves it)
 * @param localId     our identity (IDi as initiator, IDr as responder)
 * @param remoteId    the identity we require of the peer; null accepts any that authenticates
 * @param auth        how both sides authenticate
 * @param proposals   IKE proposals in order of preference
 * @param encap       force UDP encapsulation even without a NAT (RFC 7296 §2.23 allows faking
 *                    the NAT_DETECTION_SOURCE_IP hash for it)
 * @param dpdDelay    liveness check interval when idle, zero disables
 * @param children    CHILD_SA configurations
 * @param lifetime    when IKE SAs of this connection are rekeyed, and deleted if that fails
 * @param fragmentation whether IKE fragmentation (RFC 7383) is announced and used
 * @param mobike      whether MOBIKE (RFC 4555) is announced in IKE_AUTH and used when the peer announces it too
 */
public record IkeConnection(String name, List<IpRange> localAddrs, List<IpRange> remoteAddrs, int remotePort,
        IkeIdentity localId, IkeIdentity remoteId, Auth auth, List<Proposal> proposals, boolean encap,
        Duration dpdDelay, List<ChildConnection> children, IkeLifetime lifetime, Fragmentation fragmentation,
        boolean mobike) {

    /** swanctl's {@code fragmentation} values, as far as IKEv2 tells them apart (RFC 7383). */
    public enum Fragmentation {
        /** Announce support; send messages too large for {@code fragment_size} in fragments when the peer announced it too. */
        YES,
        /** Announce support and take fragments, but never send any. */
        ACCEPT,
        /** strongSwan fragments IKEv1's first message with it; IKE_SA_INIT is never fragmented (§2.5), so as {@link #YES}. */
        FORCE,
        /** Do not announce support: fragments from the peer are dropped, ours are never sent. */
        NO;

        /** swanctl's text ({@code yes}, {@code accept}, {@code force}, {@code no}); empty is the default, yes. */
        public static Fragmentation parse(String text) {
            return switch (text) {
                case "", "yes" -> YES;
                case "accept" -> ACCEPT;
                case "force" -> FORCE;
                case "no" -> NO;
                default -> throw new IllegalArgumentException("fragmentation '" + text
                        + "' is not one of yes, accept, force, no");
            };
        }

        /** True when support is announced in IKE_SA_INIT (§2.3). */
        public boolean announced() {
            return this != NO;
        }

        /** True when we send fragments once both sides announced support. */
        public boolean sends() {
            return this == YES || this == FORCE;
        }
    }

    /** Copies the lists. */
    public IkeConnection {
        localAddrs = List.copyOf(localAddrs);
        remoteAddrs = List.copyOf(remoteAddrs);
        proposals = List.copyOf(proposals);
        children = List.copyOf(children);
        java.util.Objects.requireNonNull(lifetime, "lifetime");
        java.util.Objects.requireNonNull(fragmentation, "fragmentation");
    }

    /** A connection with MOBIKE on, swanctl's default. */
    public IkeConnection(String name, List<IpRange> localAddrs, List<IpRange> remoteAddrs, int remotePort,
            IkeIdentity localId, IkeIdentity remoteId, Auth auth, List<Proposal> proposals, boolean encap,
            Duration dpdDelay, List<ChildConnection> children, IkeLifetime lifetime, Fragmentation fragmentation) {
        this(name, localAddrs, remoteAddrs, remotePort, localId, remoteId, auth, proposals, encap, dpdDelay, children,
                lifetime, fragmentation, true);
    }

    /** A connection with fragmentation {@code yes}, swanctl's default. */
    public IkeConnection(String name, List<IpRange> localAddrs, List<IpRange> remoteAddrs, int remotePort,
            IkeIdentity localId, IkeIdentity remoteId, Auth auth, List<Proposal> proposals, boolean encap,
            Duration dpdDelay, List<ChildConnection> children, IkeLifetime lifetime) {
        this(name, localAddrs, remoteAddrs, remotePort, localId, remoteId, auth, proposals, encap, dpdDelay, children,
                lifetime, Fragmentation.YES);
    }

    /** A connection whose IKE SAs are never rekeyed by time ({@link IkeLifetime#NEVER}): tests, benchmarks. */
    public IkeConnection(String name, List<IpRange> localAddrs, List<IpRange> remoteAddrs, int remotePort,
            IkeIdentity localId, IkeIdentity remoteId, Auth auth, List<Proposal> proposals, boolean encap,
            Duration dpdDelay, List<ChildConnection> children) {
        this(name, localAddrs, remoteAddrs, remotePort, localId, remoteId, auth, proposals, encap, dpdDelay, children,
                IkeLifetime.NEVER);
    }

    /** This connection with IKE SA lifetimes {@code l}. */
    public IkeConnection withLifetime(IkeLifetime l) {
        return new IkeConnection(name, localAddrs, remoteAddrs, remotePort, localId, remoteId, auth, proposals, encap,
                dpdDelay, children, l, fragmentation, mobike);
    }

    /** This connection with fragmentation {@code f}. */
    public IkeConnection withFragmentation(Fragmentation f) {
        return new IkeConnection(name, localAddrs, remoteAddrs, remotePort, localId, remoteId, auth, proposals, encap,
                dpdDelay, children, lifetime, f, mobike);
    }

    /** This connection with MOBIKE (RFC 4555) on or off. */
    public IkeConnection withMobike(boolean on) {
        return new IkeConnection(name, localAddrs, remoteAddrs, remotePort, localId, remoteId, auth, proposals, encap,
                dpdDelay, children, lifetime, fragmentation, on);
    }

    /** The child named {@code child}. */
    public Optional<ChildConnection> child(String child) {
        return children.stream().filter(c -> c.name().equals(child)).findFirst();
    }

    /**
     * The entries of {@code local_addrs} / {@code remote_addrs} as swanctl writes them: an address,
     * a prefix ({@code 198.18.0.0/15}), a range ({@code 192.0.2.1-192.0.2.9}), {@code %any}
     * (nothing: any address), {@code %any4} or {@code %any6} (every address of one family).
     *
     * @throws IllegalArgumentException quoting the entry and saying what is wrong
     */
    public static List<IpRange> addresses(List<String> texts) {
        List<IpRange> out = new java.util.ArrayList<>();
        for (String t : texts) {
            switch (t) {
                case "%any" -> { }
                case "%any4" -> out.add(IpRange.all(dev.keel.core.net.IpFamily.IPV4));
                case "%any6" -> out.add(IpRange.all(dev.keel.core.net.IpFamily.IPV6));
                default -> out.add(t.indexOf('/') >= 0 ? dev.keel.core.net.IpPrefix.parse(t).toRange() : IpRange.parse(t));
            }
        }
        return out;
    }

    /** True when this connection can initiate: its first remote entry is one address. */
    public boolean canInitiate() {
        return !remoteAddrs.isEmpty() && remoteAddrs.getFirst().isSingleAddress();
    }

    /** The peer's IKE endpoint for an initiation: its first address ({@link #canInitiate}). */
    public InetSocketAddress remoteEndpoint() {
        if (!canInitiate()) {
            throw new IllegalStateException("connection '" + name + "' has no remote address to initiate to"
                    + " (the first entry of remote_addrs must be one address)");
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(remoteAddrs.getFirst().start().bytes()), remotePort);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("4 or 16 bytes always make an address", e);
        }
    }

    /** True when this connection may serve a peer at {@code address}. */
    public boolean acceptsRemote(IpAddress address) {
        return remoteAddrs.isEmpty() || remoteAddrs.stream().anyMatch(r -> r.contains(address));
    }

    /** True when this connection may be reached at our {@code address}. */
    public boolean acceptsLocal(IpAddress address) {
        return localAddrs.isEmpty() || localAddrs.stream().anyMatch(r -> r.contains(address));
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
         * validate to one of {@code trustAnchors} and none of its certificates be revoked by
         * {@code crls} (RFC 7427 digital signatures). {@code signPss}: an RSA key signs with
         * RSASSA-PSS, else PKCS#1 v1.5; {@code requirePss}: an RSA peer must sign with RSASSA-PSS
         * (swanctl's {@code rsa/pss}, local and remote).
         */
        record PubKey(PrivateKey key, List<X509Certificate> chain, List<X509Certificate> trustAnchors,
                List<java.security.cert.X509CRL> crls, boolean signPss, boolean requirePss) implements Auth {
            /** Copies the lists. */
            public PubKey {
                chain = List.copyOf(chain);
                trustAnchors = List.copyOf(trustAnchors);
                crls = List.copyOf(crls);
            }

            /** Without CRLs; RSA signatures with PKCS#1 v1.5 either way. */
            public PubKey(PrivateKey key, List<X509Certificate> chain, List<X509Certificate> trustAnchors) {
                this(key, chain, trustAnchors, List.of(), false, false);
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
