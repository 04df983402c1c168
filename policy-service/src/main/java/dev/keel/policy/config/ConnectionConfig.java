package dev.keel.policy.config;

import dev.keel.core.proposal.Proposal;
import java.time.Duration;
import java.util.List;

/**
 * One IKE connection, with defaults applied.
 *
 * @param name        unique name
 * @param version     IKE major version, always 2
 * @param localAddrs  our addresses, canonical text ({@code %any} for any)
 * @param remoteAddrs the peer's addresses, as localAddrs
 * @param local       our authentication
 * @param remote      what we require of the peer
 * @param proposals   IKE proposals, in order of preference
 * @param dpdDelay    DPD interval; zero disables DPD
 * @param encap       force UDP encapsulation (RFC 3948)
 * @param children    CHILD_SA configurations, in file order
 * @param rekeyTime   when IKE SAs are rekeyed; zero for never
 * @param overTime    how long after {@code rekeyTime} an IKE SA not rekeyed is deleted
 * @param randTime    the most the IKE SA rekey or reauthentication comes early, at random; below both
 * @param reauthTime  when IKE SAs are reauthenticated (a new IKE SA, make-before-break); zero for never
 * @param fragmentation IKE fragmentation (RFC 7383), swanctl's {@code yes}, {@code accept}, {@code force} or {@code no}
 * @param iface       the interface of a route-based connection, or null: its children's traffic is
 *                    routed into the shared plaintext side by their selectors
 * @param mobike      MOBIKE (RFC 4555): announced in IKE_AUTH and used when the peer announces it too
 */
public record ConnectionConfig(String name, int version, List<String> localAddrs, List<String> remoteAddrs,
        AuthConfig local, AuthConfig remote, List<Proposal> proposals, Duration dpdDelay, boolean encap,
        List<ChildConfig> children, Duration rekeyTime, Duration overTime, Duration randTime, Duration reauthTime,
        String fragmentation, RouteInterface iface, boolean mobike) {

    /** Copies the lists. */
    public ConnectionConfig {
        localAddrs = List.copyOf(localAddrs);
        remoteAddrs = List.copyOf(remoteAddrs);
        proposals = List.copyOf(proposals);
        children = List.copyOf(children);
    }

    /** A policy-based connection (no interface of its own). */
    public ConnectionConfig(String name, int version, List<String> localAddrs, List<String> remoteAddrs,
            AuthConfig local, AuthConfig remote, List<Proposal> proposals, Duration dpdDelay, boolean encap,
            List<ChildConfig> children, Duration rekeyTime, Duration overTime, Duration randTime,
            String fragmentation) {
        this(name, version, localAddrs, remoteAddrs, local, remote, proposals, dpdDelay, encap, children, rekeyTime,
                overTime, randTime, Duration.ZERO, fragmentation, null, true);
    }

    /** Whether the connection owns an interface ({@link #iface}). */
    public boolean routeBased() {
        return iface != null;
    }
}
