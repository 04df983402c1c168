package dev.keel.ike.session;

import dev.keel.core.net.IpAddress;
import dev.keel.ike.net.UdpIkeSockets;
import java.net.InetSocketAddress;

/**
 * Where one IKE SA's messages go: the peer's IKE endpoint, our address and IKE port, and what NAT
 * detection found (RFC 7296 §2.23). They float to the NAT-T ports after a NAT is detected, and
 * follow the peer to where its new protected requests come from (§2.11). On the IKE SA's thread.
 */
public final class IkeEndpoints {

    private final IpAddress localAddress;
    private final int natTPort;
    private InetSocketAddress remote;
    private int localPort;
    private boolean natHere;
    private boolean natThere;
    private boolean routabilityPending;
    /** The peer's NAT_DETECTION_DESTINATION_IP in its last answer to a liveness check of ours: our mapping then. */
    private byte[] mappingHash;

    IkeEndpoints(InetSocketAddress remote, IpAddress localAddress, int localPort, int natTPort) {
        this.remote = remote;
        this.localAddress = localAddress;
        this.localPort = localPort;
        this.natTPort = natTPort;
    }

    /** The peer's IKE endpoint, NAT-T port included. */
    public InetSocketAddress remote() {
        return remote;
    }

    public IpAddress localAddress() {
        return localAddress;
    }

    /** Our IKE port: the engine's 500, or its 4500 after floating (RFC 7296 §2.23). */
    public int localPort() {
        return localPort;
    }

    /** Moves the IKE SA to UDP 4500 on both ends, as the initiator does after detecting a NAT. */
    public void floatToNatT() {
        if (localPort != natTPort) {
            localPort = natTPort;
            remote = new InetSocketAddress(remote.getAddress(), natTPortOf(remote.getPort()));
        }
    }

    private static int natTPortOf(int ikePort) {
        // a peer on the standard port floats to 4500; a lab that moves 500 to P has its 4500 at P + 1
        return ikePort == UdpIkeSockets.IKE_PORT ? UdpIkeSockets.NAT_T_PORT : ikePort + 1;
    }

    /** Records what NAT detection found (RFC 7296 §2.23). */
    public void nat(boolean here, boolean there) {
        this.natHere = here;
        this.natThere = there;
    }

    /** True when either side is behind a NAT (or encapsulation was forced by faking it). */
    public boolean natDetected() {
        return natHere || natThere;
    }

    /** NAT detection found a NAT in front of us (RFC 7296 §2.23). */
    public boolean natHere() {
        return natHere;
    }

    /** NAT detection found a NAT in front of the peer. */
    public boolean natThere() {
        return natThere;
    }

    /** The peer's new protected request came from {@code from} to our port {@code onLocalPort}: answers go there now. */
    void follow(InetSocketAddress from, int onLocalPort) {
        remote = from;
        localPort = onLocalPort;
    }

    /**
     * MOBIKE moved the IKE SA (RFC 4555 §3.5): the peer's endpoint and our port are those of the
     * UPDATE_SA_ADDRESSES request's IP header, the NAT findings those of its NAT detection
     * payloads. {@code unverified} when the new peer address has not passed a return routability
     * check yet (§3.7): CHILD SAs stay where they are until it has.
     */
    public void moveTo(InetSocketAddress newRemote, int newLocalPort, boolean here, boolean there, boolean unverified) {
        remote = newRemote;
        localPort = newLocalPort;
        natHere = here;
        natThere = there;
        routabilityPending = unverified;
    }

    /** True while a MOBIKE move waits for its return routability check (RFC 4555 §3.7). */
    public boolean routabilityPending() {
        return routabilityPending;
    }

    /** A return routability check of the peer's current address is due again: CHILD SAs wait for it. */
    public void routabilityDue() {
        routabilityPending = true;
    }

    /** The return routability check of the peer's current address passed (or is given up: the IKE SA goes). */
    public void routabilityChecked() {
        routabilityPending = false;
    }

    /** How the peer last saw our address and port (a NAT detection hash), or null: to tell a changed NAT mapping. */
    public byte[] mappingHash() {
        return mappingHash;
    }

    public void mappingHash(byte[] hash) {
        this.mappingHash = hash.clone();
    }

    /** Takes the endpoints and NAT findings of an IKE SA this one carries on (a rekey's successor, a takeover). */
    void carryOn(InetSocketAddress remote, int localPort, boolean natHere, boolean natThere) {
        this.remote = remote;
        this.localPort = localPort;
        this.natHere = natHere;
        this.natThere = natThere;
    }
}
