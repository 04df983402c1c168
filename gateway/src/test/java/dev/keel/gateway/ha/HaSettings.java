package dev.keel.gateway.ha;

import java.util.List;

/**
 * What an HA failover run configures on both sides: the PSK, extra tunnels for the setup-burst
 * case, and lifetimes and DPD (long and off for the CHILD SA failover runs, short for the runs
 * that need the survivor to rekey and answer DPD).
 *
 * @param psk the pre-shared key of the pair and the peer (20+ bytes)
 * @param extraTunnels tunnels t1..tN besides "net", each its own IKE SA from the peer (10.2.N.0/24)
 * @param childRekey Keel's CHILD SA {@code rekey_time} (e.g. {@code 1h})
 * @param keelDpd Keel's {@code dpd_delay} ({@code 0s}: off)
 * @param charonConnection extra swanctl.conf lines for each of charon's connections
 * @param charonChild extra swanctl.conf lines for each of charon's children
 */
record HaSettings(String psk, int extraTunnels, String childRekey, String keelDpd, List<String> charonConnection,
        List<String> charonChild) {

    static final String IKE_PROPOSAL = "aes256gcm16-prfsha256-x25519";
    static final String ESP_PROPOSAL = "aes256gcm16";

    HaSettings {
        charonConnection = List.copyOf(charonConnection);
        charonChild = List.copyOf(charonChild);
    }

    /**
     * Lifetimes far beyond the run and no DPD on both sides: what the survivor must carry on is the
     * ESP traffic (the IKE SA's rekeys and DPD after a takeover are {@link #withLifetimes}' runs).
     */
    static HaSettings childFailover() {
        return new HaSettings("keel-ha-psk-0123456789abcdef", 0, "1h", "0s",
                List.of("rekey_time = 4h", "dpd_delay = 0s"), List.of("rekey_time = 1h"));
    }

    /** These settings with {@code n} extra tunnels t1..tn. */
    HaSettings withExtraTunnels(int n) {
        return new HaSettings(psk, n, childRekey, keelDpd, charonConnection, charonChild);
    }

    /** These settings with other lifetimes and DPD. */
    HaSettings withLifetimes(String newChildRekey, String newKeelDpd, List<String> newCharonConnection,
            List<String> newCharonChild) {
        return new HaSettings(psk, extraTunnels, newChildRekey, newKeelDpd, newCharonConnection, newCharonChild);
    }

    /** The peer's subnet of extra tunnel {@code i} (1..250). */
    static String tunnelSubnet(int i) {
        return "10.2." + i + ".0/24";
    }
}
