package dev.keel.gateway.interop;

import static dev.keel.gateway.interop.BgpOverTunnelsNetnsTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.SystemTests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Cloud-shaped route-based tunnels against strongSwan (issue 18 item 4): Keel in gw-a with the
 * configuration docs/cloud-interconnect.md gives for AWS Site-to-Site VPN and for Azure VPN
 * Gateway (one route-based connection owning {@code keel-t1} with the tunnel's inside address, the
 * cloud's proposals, lifetimes and DPD), against charon in gw-b set up from the same published
 * parameters as the cloud's end would be (its proposal lists in the cloud's order, its lifetimes
 * and DPD, selectors 0.0.0.0/0 both ways, the cloud's inside address on kernel-libipsec's
 * {@code ipsec0}), and BIRD 2 on both gateways peering across the inside addresses with the cloud's
 * ASN. Asserted: the algorithms charon settled on, its lifetimes, both BGP sessions Established,
 * each side's LAN learned by the other over the tunnel, and host-to-host pings over the learned
 * routes. Routing, not selectors, steers charon's side too, as a route-based cloud end does (see
 * {@link #routeBased}).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class CloudShapedInteropTest {

    private static final String PSK = "cloud-shaped-test-psk-not-a-secret";
    private static final int PINGS = 3;
    private static final Duration WAIT = Duration.ofSeconds(40);

    /**
     * One cloud's published parameters, as both ends are configured from them.
     *
     * @param cloudIke the cloud end's IKE proposals (strongSwan syntax, the cloud's whole list in its order)
     * @param cloudEsp the cloud end's ESP proposals
     * @param cloudTimes the cloud end's swanctl lifetime and DPD lines (connection, then child)
     * @param keelConnection Keel's connection keys beside addresses, auth and interface (docs/cloud-interconnect.md)
     * @param keelChild Keel's child keys
     * @param insideCloud the cloud end's inside address (/30)
     * @param insideKeel Keel's inside address (/30)
     * @param cloudAsn the cloud end's BGP ASN
     * @param ikeChosen the IKE transform charon must settle on (swanctl's form)
     * @param espChosen the ESP transform charon must settle on
     * @param childLifeSeconds the CHILD SA hard lifetime charon must report at most
     */
    record Cloud(String cloudIke, String cloudEsp, List<String> cloudConnectionLines, List<String> cloudChildLines,
            String keelConnection, String keelChild, String insideCloud, String insideKeel, int cloudAsn,
            String ikeChosen, String espChosen, long childLifeSeconds) {
    }

    /** The two clouds; the values and where they come from are in docs/cloud-interconnect.md. */
    enum Profile {
        AWS(new Cloud(
                // AWS's phase 1 lists: AES128, AES256, AES128-GCM-16, AES256-GCM-16; SHA1, SHA2-256/384/512;
                // DH groups 2, 14-24 (AEAD and non-AEAD in separate strongSwan proposals)
                "aes128-aes256-sha1-sha256-sha384-sha512-" + AwsGroups.PHASE1
                        + ",aes128gcm16-aes256gcm16-prfsha1-prfsha256-prfsha384-prfsha512-" + AwsGroups.PHASE1,
                // phase 2: the same ciphers and integrity, PFS with groups 2, 5, 14-24
                "aes128-aes256-sha1-sha256-sha384-sha512-" + AwsGroups.PHASE2
                        + ",aes128gcm16-aes256gcm16-" + AwsGroups.PHASE2,
                // phase 1 lifetime 28,800 s, phase 2 3,600 s, AWS rekeying 270 s (its rekey margin) before;
                // DPD: AWS's 30 s timeout is for idle peers; IKEv2 declares death by retransmissions
                List.of("rekey_time = 28530s", "over_time = 270s", "dpd_delay = 10s"),
                List.of("rekey_time = 3330s", "life_time = 3600s", "dpd_action = restart"),
                """
                    proposals: aes256gcm16-prfsha384-ecp384   # the one AWS is to choose
                    rekey_time: 28000s          # below AWS's 28,800 s phase 1 lifetime
                    over_time: 800s
                    dpd_delay: 10s
                """,
                """
                        esp_proposals: aes256gcm16-ecp384
                        rekey_time: 3000s       # below AWS's 3,600 s phase 2 lifetime
                        life_time: 3600s
                        start_action: start
                        dpd_action: restart
                """,
                "169.254.10.1", "169.254.10.2", 64512, "AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_384", "AES_GCM_16-256",
                3600)),
        AZURE(new Cloud(
                // Azure's custom IPsec/IKE policy (its default set is not all within Keel's algorithms):
                // IKE GCMAES256 + SHA384, DH group ECP384; IPsec GCMAES256, PFS ECP384
                "aes256gcm16-prfsha384-ecp384",
                "aes256gcm16-ecp384",
                // IKE SA 28,800 s; quick mode SA 27,000 s and 102,400,000 KB; DPD timeout 45 s
                List.of("rekey_time = 28800s", "dpd_delay = 15s"),
                List.of("life_time = 27000s", "rekey_time = 24300s", "life_bytes = 104857600000",
                        "rekey_bytes = 94371840000"),
                """
                    proposals: aes256gcm16-prfsha384-ecp384
                    rekey_time: 27000s          # below Azure's 28,800 s IKE SA lifetime
                    over_time: 1800s
                    dpd_delay: 15s              # a third of Azure's 45 s DPD timeout
                """,
                """
                        esp_proposals: aes256gcm16-ecp384
                        rekey_time: 24300s      # below Azure's 27,000 s quick mode lifetime
                        life_time: 27000s
                        rekey_bytes: 92160000K  # below Azure's 102,400,000 KB
                        life_bytes: 102400000K
                        start_action: start
                        dpd_action: restart
                """,
                "169.254.21.1", "169.254.21.2", 65515, "AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_384", "AES_GCM_16-256",
                27000));

        final Cloud cloud;

        Profile(Cloud cloud) {
            this.cloud = cloud;
        }
    }

    /** AWS's DH group lists in strongSwan names (group 2 modp1024, 5 modp1536, 14-18 modp2048-8192, 19-21 ecp, 22-24). */
    private static final class AwsGroups {
        static final String PHASE1 = "modp1024-modp2048-modp3072-modp4096-modp6144-modp8192-ecp256-ecp384-ecp521"
                + "-modp1024s160-modp2048s224-modp2048s256";
        static final String PHASE2 = "modp1024-modp1536-modp2048-modp3072-modp4096-modp6144-modp8192-ecp256-ecp384"
                + "-ecp521-modp1024s160-modp2048s224-modp2048s256";
    }

    @TempDir
    Path work;

    @BeforeEach
    void requireTools() {
        StrongSwanPeer.assumeAvailable();
        SystemTests.assumeTool("bird");
        SystemTests.assumeTool("birdc");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Profile.class)
    void routeBasedTunnelWithBgpComesUpFromTheCloudsPublishedParameters(Profile profile) throws Exception {
        Cloud c = profile.cloud;
        long t0 = System.nanoTime();
        try (NetnsTopology topo = NetnsTopology.create()) {
            NetnsTopology.Site a = topo.a();
            NetnsTopology.Site b = topo.b();
            ConnectionSpec cloudSpec = new ConnectionSpec("tunnel1", "tun", b.outerAddress(), a.outerAddress(),
                    b.outerAddress(), a.outerAddress(), new PeerAuth.Psk(PSK), c.cloudIke(), c.cloudEsp(),
                    List.of("0.0.0.0/0"), List.of("0.0.0.0/0"), "none", "tunnel", true);
            CharonOptions options = CharonOptions.defaults()
                    // the remote selector 0.0.0.0/0 includes the peer's own address
                    .withCharonLine("plugins { kernel-libipsec { allow_peer_ts = yes } }");
            for (String l : c.cloudConnectionLines()) {
                options = options.withConnectionLine(l);
            }
            for (String l : c.cloudChildLines()) {
                options = options.withChildLine(l);
            }
            Path bird = SystemTests.assumeTool("bird");
            Path birdc = SystemTests.assumeTool("birdc");
            try (StrongSwanPeer charon = StrongSwanPeer.start(b.gatewayNamespace(), work.resolve("charon"), cloudSpec,
                    options)) {
                routeBased(topo, b.gatewayNamespace());
                try (KeelGatewayProcess keel = startKeel(a, b, c, work.resolve("keel"))) {
                    KeelStrongSwanInteropTest.withLogs(charon, keel, () -> {
                        keel.awaitLog("usable in the data plane", WAIT);
                        List<SwanctlSas.IkeSa> sas = charon.awaitSas(s -> s.size() == 1 && s.getFirst().child("tun")
                                .map(ch -> ch.state().equals("INSTALLED")).orElse(false), WAIT);
                        SwanctlSas.IkeSa ike = CharonPairTest.single(sas);
                        SwanctlSas.ChildSa child = ike.child("tun").orElseThrow();
                        assertThat(ike.proposal()).as("IKE algorithms charon chose").isEqualTo(c.ikeChosen());
                        assertThat(child.proposal()).as("ESP algorithms charon chose").isEqualTo(c.espChosen());
                        assertThat(child.localTs()).containsExactly("0.0.0.0/0");
                        assertThat(child.remoteTs()).containsExactly("0.0.0.0/0");
                        assertThat(Long.parseLong(child.raw().getOrDefault("life-time", "-1")))
                                .as("charon's CHILD SA hard lifetime (s from now)").isBetween(1L, c.childLifeSeconds());
                        assertThat(device(topo, b.gatewayNamespace(), a.hostAddress())).as("cloud side's route to host-a"
                                + " before BGP (routing decides, not the selectors)").isNotEqualTo("ipsec0");
                        topo.exec(b.gatewayNamespace(), Duration.ofSeconds(10), "ip", "addr", "add", c.insideCloud() + "/30",
                                "dev", "ipsec0").requireOk();
                        try (BirdDaemon birdA = BirdDaemon.start(topo, a.gatewayNamespace(), bird, birdc,
                                work.resolve("bird-a"), bgpConfig("10.1.0.1", 65000, c.insideKeel(), c.cloudAsn(),
                                        c.insideCloud(), a.protectedSubnet()));
                                BirdDaemon birdB = BirdDaemon.start(topo, b.gatewayNamespace(), bird, birdc,
                                        work.resolve("bird-b"), bgpConfig("10.2.0.1", c.cloudAsn(), c.insideCloud(), 65000,
                                                c.insideKeel(), b.protectedSubnet()))) {
                            long tBird = System.nanoTime();
                            await(() -> birdA.established("tunnel1") && birdB.established("tunnel1"), Duration.ofSeconds(60),
                                    () -> "BGP not Established:\nKeel's side:\n" + birdA.protocols() + birdA.logText()
                                            + "\ncloud side:\n" + birdB.protocols() + birdB.logText());
                            await(() -> device(topo, a.gatewayNamespace(), b.hostAddress()).equals("keel-t1")
                                    && device(topo, b.gatewayNamespace(), a.hostAddress()).equals("ipsec0"),
                                    Duration.ofSeconds(30), () -> "learned routes: Keel's side "
                                            + device(topo, a.gatewayNamespace(), b.hostAddress()) + ", cloud side "
                                            + device(topo, b.gatewayNamespace(), a.hostAddress()));
                            long bgpMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - tBird);
                            assertThat(birdA.show("route", "protocol", "tunnel1")).as("Keel's side learned the cloud's LAN")
                                    .contains(b.protectedSubnet());
                            assertThat(CharonPairTest.pingsAnswered(topo, a, b, PINGS)).as("host-a to host-b")
                                    .isEqualTo(PINGS);
                            assertThat(CharonPairTest.pingsAnswered(topo, b, a, PINGS)).as("host-b to host-a")
                                    .isEqualTo(PINGS);
                            SwanctlSas.ChildSa after = CharonPairTest.single(charon.listSas()).child("tun").orElseThrow();
                            assertThat(after.packetsIn()).as("charon's CHILD SA carried BGP and the pings")
                                    .isGreaterThanOrEqualTo(2L * PINGS);
                            System.out.printf("cloud-shaped %s vs strongSwan: IKE %s, ESP %s; BGP Established and routes"
                                    + " learned %d ms after BIRD started; whole case %d ms%n", profile, ike.proposal(),
                                    child.proposal(), bgpMillis, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
                        }
                    });
                }
            }
        }
    }

    /**
     * Makes charon's side route-based: kernel-libipsec (5.9.8) installs a route into table 220 for
     * every outbound policy whatever {@code install_routes} says, and with 0.0.0.0/0 that default
     * route would take IKE itself into {@code ipsec0} (no exclude route for an on-link peer); without
     * the rule that consults table 220, the main table (and BGP) decides, as with a cloud's VTI.
     */
    private static void routeBased(NetnsTopology topo, String namespace) throws IOException {
        topo.exec(namespace, Duration.ofSeconds(10), "ip", "rule", "del", "table", "220").requireOk();
        assertThat(topo.exec(namespace, Duration.ofSeconds(10), "ip", "rule", "show").output())
                .as("charon's policy routing rule gone").doesNotContain("220");
    }

    /** Keel in gw-a: the connection as docs/cloud-interconnect.md gives it for this cloud. */
    private static KeelGatewayProcess startKeel(NetnsTopology.Site a, NetnsTopology.Site b, Cloud c, Path dir)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("psk.txt"), PSK);
        Path config = dir.resolve("keel.yaml");
        Files.writeString(config, KeelGatewayProcess.gatewayYaml(a.outerAddress(), dir.resolve("keys")) + """
                secrets:
                  psk: {file: psk.txt}
                connections:
                  tunnel1:
                    local_addrs: %s
                    remote_addrs: %s
                    local: {auth: psk, id: "%s", secret: psk}
                    remote: {auth: psk, id: "%s"}
                %s    interface: {name: keel-t1, addresses: [%s/30], mtu: 1400}
                    children:
                      tun:
                %s""".formatted(a.outerAddress(), b.outerAddress(),
                a.outerAddress(), b.outerAddress(), c.keelConnection(), c.insideKeel(), c.keelChild()));
        return KeelGatewayProcess.start(a.gatewayNamespace(), config, dir.resolve("keel.log"), dir.resolve("keys"),
                List.of());
    }

    /** BIRD for one end: one BGP session across the inside /30 (keepalive 10 s, hold 30 s), the LAN exported. */
    static String bgpConfig(String routerId, int localAs, String local, int peerAs, String neighbor, String lan) {
        return """
                router id %s;
                log stderr all;
                protocol device { scan time 2; }
                protocol direct lan { ipv4; interface "inner"; }
                protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }
                filter lan_only { if net = %s then accept; reject; }
                protocol bgp tunnel1 {
                  local %s as %d;
                  neighbor %s as %d;
                  hold time 30;
                  keepalive time 10;
                  ipv4 { import all; export filter lan_only; };
                }
                """.formatted(routerId, lan, local, localAs, neighbor, peerAs);
    }

    private static String device(NetnsTopology topo, String namespace, String destination) {
        try {
            BoundedCommand.Result r = topo.exec(namespace, Duration.ofSeconds(10), "ip", "-4", "route", "get",
                    destination);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile(" dev (\\S+)").matcher(r.output());
            return m.find() ? m.group(1) : "none (" + r.output().strip() + ")";
        } catch (IOException e) {
            return e.toString();
        }
    }
}
