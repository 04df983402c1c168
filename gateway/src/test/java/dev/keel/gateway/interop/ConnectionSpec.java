package dev.keel.gateway.interop;

import java.util.List;
import java.util.Objects;

/**
 * One IKEv2 connection with one CHILD_SA, in the terms swanctl.conf uses; what
 * {@link StrongSwanPeer} writes into {@code connections.<name>} and {@code secrets}.
 *
 * @param name connection name ({@code swanctl --initiate --ike})
 * @param childName CHILD_SA config name ({@code swanctl --initiate --child})
 * @param localAddress this peer's IKE address
 * @param remoteAddress the other peer's IKE address
 * @param localId this peer's IKE identity (e.g. an FQDN)
 * @param remoteId the other peer's IKE identity
 * @param auth PSK or certificates
 * @param ikeProposal IKE proposal in strongSwan syntax, e.g. {@code aes256gcm16-prfsha256-x25519}
 * @param espProposal ESP proposal in strongSwan syntax, e.g. {@code aes256gcm16}
 * @param localTs local traffic selectors (CIDR)
 * @param remoteTs remote traffic selectors (CIDR)
 * @param startAction {@code none}, {@code trap} or {@code start}
 * @param mode {@code tunnel} or {@code transport}
 * @param udpEncapsulation force ESP in UDP 4500 ({@code encap = yes}); kernel-libipsec needs it here
 */
public record ConnectionSpec(String name, String childName, String localAddress, String remoteAddress,
        String localId, String remoteId, PeerAuth auth, String ikeProposal, String espProposal,
        List<String> localTs, List<String> remoteTs, String startAction, String mode, boolean udpEncapsulation) {

    public ConnectionSpec {
        Objects.requireNonNull(auth, "auth");
        localTs = List.copyOf(localTs);
        remoteTs = List.copyOf(remoteTs);
        List<String> fields = new java.util.ArrayList<>(List.of(name, childName, localAddress, remoteAddress,
                localId, remoteId, ikeProposal, espProposal, startAction, mode));
        fields.addAll(localTs);
        fields.addAll(remoteTs);
        for (String s : fields) {
            // Values go quoted into swanctl.conf: a quote, backslash or line break would end them early.
            if (s.isEmpty() || s.chars().anyMatch(ch -> ch == '"' || ch == '\\' || ch < 0x20)) {
                throw new IllegalArgumentException("connection field '" + s + "' is empty or has a quote,"
                        + " backslash or control character");
            }
        }
        if (!List.of("none", "trap", "start").contains(startAction)) {
            throw new IllegalArgumentException("start action must be none, trap or start, not " + startAction);
        }
        if (!List.of("tunnel", "transport").contains(mode)) {
            throw new IllegalArgumentException("mode must be tunnel or transport, not " + mode);
        }
    }

    /**
     * A PSK tunnel from {@code local}'s gateway to {@code remote}'s, protecting subnet to subnet;
     * identities {@code gw-<site>.keel.test}, connection "tunnel", child "net", start action none.
     */
    public static ConnectionSpec psk(NetnsTopology.Site local, NetnsTopology.Site remote, String psk,
            String ikeProposal, String espProposal) {
        return new ConnectionSpec("tunnel", "net", local.outerAddress(), remote.outerAddress(),
                "gw-" + local.name() + ".keel.test", "gw-" + remote.name() + ".keel.test", new PeerAuth.Psk(psk),
                ikeProposal, espProposal, List.of(local.protectedSubnet()), List.of(remote.protectedSubnet()),
                "none", "tunnel", true);
    }

    /** This connection with another authentication. */
    public ConnectionSpec withAuth(PeerAuth newAuth) {
        return new ConnectionSpec(name, childName, localAddress, remoteAddress, localId, remoteId, newAuth,
                ikeProposal, espProposal, localTs, remoteTs, startAction, mode, udpEncapsulation);
    }

    /** This connection with other identities (strongSwan's syntax: FQDN, user@FQDN, a DN, an address). */
    public ConnectionSpec withIdentities(String newLocalId, String newRemoteId) {
        return new ConnectionSpec(name, childName, localAddress, remoteAddress, newLocalId, newRemoteId, auth,
                ikeProposal, espProposal, localTs, remoteTs, startAction, mode, udpEncapsulation);
    }

    /** This connection with another start action ({@code none}, {@code trap}, {@code start}). */
    public ConnectionSpec withStartAction(String newStartAction) {
        return new ConnectionSpec(name, childName, localAddress, remoteAddress, localId, remoteId, auth,
                ikeProposal, espProposal, localTs, remoteTs, newStartAction, mode, udpEncapsulation);
    }

    /** This connection with other proposals. */
    public ConnectionSpec withProposals(String newIkeProposal, String newEspProposal) {
        return new ConnectionSpec(name, childName, localAddress, remoteAddress, localId, remoteId, auth,
                newIkeProposal, newEspProposal, localTs, remoteTs, startAction, mode, udpEncapsulation);
    }

    /** This connection with another mode ({@code tunnel}, {@code transport}) and selectors. */
    public ConnectionSpec withModeAndSelectors(String newMode, List<String> newLocalTs, List<String> newRemoteTs) {
        return new ConnectionSpec(name, childName, localAddress, remoteAddress, localId, remoteId, auth,
                ikeProposal, espProposal, newLocalTs, newRemoteTs, startAction, newMode, udpEncapsulation);
    }
}
