package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.SecretForms;
import dev.keel.esp.wire.SystemTests;
import dev.keel.gateway.ctl.KeelctlInThisJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * No secret of a strongSwan interop run leaves a Keel gateway in what it writes or answers (issue
 * 16, item 4): Keel with every subsystem (and so every library's logger) at {@code trace} against
 * charon; a tunnel set up with a PSK, pings through it, CHILD SA and IKE SA rekeys started by each
 * side, a refused call, a delete, and an authentication that fails each way (charon reloaded with
 * another PSK). charon logs every key it derives ({@code ike = 4}, {@code chd = 4}): the secrets
 * are those dumps (SK_* of every IKE SA, both keys of every CHILD SA, nonces, the shared DH
 * secret), every key Keel exported for Wireshark (each must be one charon logged) and the PSK.
 * Searched, in every form {@link SecretForms} knows: all Keel printed (stdout and stderr, to its
 * SIGTERM), every other file it wrote, every keelctl answer (text and JSON, the streamed log of an
 * initiate at trace, error lines) and the metrics text. No hit. The search is shown to work on
 * the PSK file and on the key export, which must hold their secrets.
 */
@Timeout(240)
class KeyHygieneInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String PSK = "hygiene-interop-psk-5c81e07d";
    private static final String WRONG_PSK = "not-the-hygiene-psk-93b2";
    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";
    private static final String METRICS = "127.0.0.1:9464";
    /**
     * charon's dumps that are secrets: the DH shared secret, SKEYSEED, SK_*, the PSK and what AUTH
     * makes of it, CHILD SA keys. Not: NAT detection hashes, IDx' (on the wire), the signed octets
     * (mostly the IKE_SA_INIT message in the clear; its nonce is taken out, see {@link #nonces}).
     */
    private static final Pattern SECRET_LABEL = Pattern.compile("(?i).*secret.*|skeyseed|sk_p|.* key");
    /** Both sides' nonce length (Keel's IkeInitTask.NONCE_LENGTH, charon's NONCE_SIZE) and PRF output (prfsha256). */
    private static final int NONCE = 32;
    private static final int PRF = 32;
    private static final HexFormat HEX = HexFormat.of();
    /** A key in Keel's Wireshark export: 0x and at least 16 bytes (SPIs are at most 8). */
    private static final Pattern EXPORTED_KEY = Pattern.compile("(?i)(?:0x)?([0-9a-f]{32,})");

    @TempDir
    Path work;

    @BeforeEach
    void requireTools() {
        StrongSwanPeer.assumeAvailable();
        SystemTests.assumeTool("ping");
        SystemTests.assumeTool("curl");
    }

    @Test
    void noKeyNonceOrPskInKeelsOutputOrAnswersThroughAWholeTunnelLifeAtTrace() throws Exception {
        Path keelDir = work.resolve("keel");
        Map<String, String> written = new LinkedHashMap<>(); // what Keel wrote or answered, by source
        String charonLog;
        try (NetnsTopology topo = NetnsTopology.create()) {
            ConnectionSpec charonSpec = ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP);
            CharonOptions charonSide = CharonOptions.defaults().withLogLevel("ike", 4).withLogLevel("chd", 4);
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    charonSpec, charonSide);
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo.a(), keelDir,
                            policy -> "logging: {level: trace}\nmetrics: {listen: " + METRICS + "}\n" + policy,
                            ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP))) {
                KeelctlCalls ctl = new KeelctlCalls("unix:" + keelDir.resolve("admin/keel.sock"), written);
                KeelStrongSwanInteropTest.withLogs(charon, keel, () -> {
                    // set up by Keel, the node's log of it streamed at trace
                    ctl.ok("--initiate", "--child", "net", "--level", "trace", "--timeout", "20");
                    awaitOneInstalledChild(charon);
                    keel.awaitLog("usable in the data plane", WAIT);
                    pingThroughTheTunnel(topo);
                    listEverything(ctl, topo, written, "up");

                    // CHILD SA rekeys, then IKE SA rekeys, started by each side
                    ctl.ok("--rekey", "--child", "net");
                    awaitDumps(charon, "encryption initiator key", 2);
                    charon.swanctl(WAIT, "--rekey", "--child", "net").requireOk();
                    awaitDumps(charon, "encryption initiator key", 3);
                    ctl.ok("--rekey", "--ike", "tunnel");
                    awaitDumps(charon, "Sk_d secret", 2);
                    charon.swanctl(WAIT, "--rekey", "--ike", "tunnel").requireOk();
                    awaitDumps(charon, "Sk_d secret", 3);
                    awaitOneInstalledChild(charon);
                    pingThroughTheTunnel(topo);
                    listEverything(ctl, topo, written, "rekeyed");

                    // a refused call, then the delete
                    assertThat(ctl.run("--rekey", "--child", "no-such-child").exitCode()).isNotZero();
                    ctl.ok("--terminate", "--ike", "tunnel");
                    assertThat(charon.awaitSas(List::isEmpty, WAIT)).as("charon's SAs after the terminate").isEmpty();

                    // authentication fails each way: charon now holds another PSK
                    charon.reconfigure(charonSpec.withAuth(new PeerAuth.Psk(WRONG_PSK)));
                    assertThat(charon.initiate(WAIT).ok()).as("charon's initiate with the wrong PSK").isFalse();
                    keel.awaitLog("shared-key AUTH does not verify", WAIT);
                    assertThat(ctl.run("--initiate", "--child", "net", "--level", "trace", "--timeout", "10")
                            .exitCode()).as("Keel's initiate to a peer with another PSK").isNotZero();
                    keel.awaitLog("peer answered IKE_AUTH with AUTHENTICATION_FAILED", WAIT);
                    listEverything(ctl, topo, written, "failed");
                });
                keel.close(); // SIGTERM: what it prints while stopping is searched too
                charonLog = charon.log(); // closing charon deletes its directory
            }
        }

        Map<String, byte[]> secrets = secrets(charonLog, keelDir.resolve("keys"));
        secrets.put("PSK", PSK.getBytes(StandardCharsets.UTF_8));
        secrets.put("the wrong PSK", WRONG_PSK.getBytes(StandardCharsets.UTF_8));
        written.putAll(filesKeelWrote(keelDir));

        // the search finds what is there: the PSK in its file, every exported key in the export
        assertThat(SecretForms.findIn(Files.readString(keelDir.resolve("psk.txt")), Map.of("PSK", secrets.get("PSK"))))
                .as("the PSK in the file it was given in").isNotEmpty();
        for (Map.Entry<String, byte[]> e : exportedKeys(keelDir.resolve("keys")).entrySet()) {
            assertThat(SecretForms.findIn(exportText(keelDir.resolve("keys")), Map.of(e.getKey(), e.getValue())))
                    .as(e.getKey() + " in the key export").isNotEmpty();
        }

        long bytes = written.values().stream().mapToLong(String::length).sum();
        long lines = written.values().stream().mapToLong(t -> t.lines().count()).sum();
        List<String> hits = new ArrayList<>();
        written.forEach((source, text) -> SecretForms.findIn(text, secrets).forEach(h -> hits.add(source + ": " + h)));
        System.out.println("KeyHygieneInteropTest: " + secrets.size() + " secrets, " + written.size() + " sources, "
                + lines + " lines, " + bytes + " characters searched, " + hits.size() + " hits; sources: "
                + sizes(written));
        assertThat(hits).as("secrets in what Keel wrote or answered").isEmpty();
    }

    /**
     * The secrets of the run by name ("Sk_d secret #2"): charon's secret dumps (at least the SAs
     * the scenario made) and Keel's exported keys, each of which must be one charon logged.
     */
    private static Map<String, byte[]> secrets(String charonLog, Path keys) throws IOException {
        Map<String, List<byte[]>> dumps = CharonKeyLog.dumps(charonLog);
        Map<String, byte[]> secrets = new LinkedHashMap<>();
        Map<String, Integer> counts = new TreeMap<>();
        dumps.forEach((label, values) -> {
            if (SECRET_LABEL.matcher(label).matches()) {
                for (int i = 0; i < values.size(); i++) {
                    if (values.get(i).length > 0) {
                        secrets.put(label + " #" + (i + 1), values.get(i));
                        counts.merge(label, 1, Integer::sum);
                    }
                }
            }
        });
        secrets.putAll(nonces(dumps));
        counts.put("nonces", (int) secrets.keySet().stream().filter(k -> k.startsWith("nonce")).count());
        System.out.println("KeyHygieneInteropTest: charon's dumps " + dumps.keySet() + "; secrets by label " + counts);
        // five IKE SAs (set up, two rekeys, two failed authentications), three CHILD SAs
        for (String label : List.of("Sk_d secret", "Sk_ei secret", "Sk_er secret", "Sk_pi secret", "Sk_pr secret")) {
            assertThat(counts.getOrDefault(label, 0)).as("'" + label + "' dumps in charon's log; " + counts)
                    .isGreaterThanOrEqualTo(5);
        }
        // Ni and Nr of each CHILD SA (the first one's are the IKE SA's), the peer's nonce of each AUTH
        assertThat(counts.get("nonces")).as("nonces; " + counts).isGreaterThanOrEqualTo(3 * 2 + 4);
        for (String label : List.of("encryption initiator key", "encryption responder key")) {
            assertThat(counts.getOrDefault(label, 0)).as("'" + label + "' dumps in charon's log; " + counts)
                    .isGreaterThanOrEqualTo(3);
        }
        List<String> charonHex = secrets.values().stream().map(HexFormat.of()::formatHex).toList();
        Map<String, byte[]> exported = exportedKeys(keys);
        assertThat(exported).as("keys Keel exported: three CHILD SAs' and three IKE SAs'").hasSizeGreaterThanOrEqualTo(6);
        exported.forEach((name, key) -> assertThat(charonHex).as(name + ", one charon derived too")
                .anySatisfy(c -> assertThat(c).contains(HexFormat.of().formatHex(key))));
        secrets.putAll(exported);
        return secrets;
    }

    /**
     * The nonces in charon's dumps: each CHILD SA's key derivation seed without PFS is Ni | Nr
     * (RFC 7296 §2.17), and each AUTH's signed octets end in the peer's nonce and a PRF output
     * (§2.15).
     */
    private static Map<String, byte[]> nonces(Map<String, List<byte[]>> dumps) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        List<byte[]> seeds = dumps.getOrDefault("seed", List.of());
        for (int i = 0; i < seeds.size(); i++) {
            assertThat(seeds.get(i)).as("CHILD SA seed Ni | Nr (no PFS)").hasSize(2 * NONCE);
            out.put("nonce i of CHILD SA seed #" + (i + 1), Arrays.copyOfRange(seeds.get(i), 0, NONCE));
            out.put("nonce r of CHILD SA seed #" + (i + 1), Arrays.copyOfRange(seeds.get(i), NONCE, 2 * NONCE));
        }
        List<byte[]> octets = dumps.getOrDefault("octets = message + nonce + prf(Sk_px, IDx')", List.of());
        for (int i = 0; i < octets.size(); i++) {
            byte[] o = octets.get(i);
            out.put("nonce of AUTH octets #" + (i + 1), Arrays.copyOfRange(o, o.length - PRF - NONCE, o.length - PRF));
        }
        // the offsets are right: the first IKE_AUTH's two signed octets hold the first IKE SA's Ni and Nr
        assertThat(Stream.of("nonce of AUTH octets #1", "nonce of AUTH octets #2").map(k -> HEX.formatHex(out.get(k))))
                .containsExactlyInAnyOrder(HEX.formatHex(out.get("nonce i of CHILD SA seed #1")),
                        HEX.formatHex(out.get("nonce r of CHILD SA seed #1")));
        return out;
    }

    /** Every key in Keel's Wireshark export (esp_sa, ikev2_decryption_table), by file and position. */
    private static Map<String, byte[]> exportedKeys(Path keys) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (String file : List.of("esp_sa", "ikev2_decryption_table")) {
            Matcher m = EXPORTED_KEY.matcher(Files.readString(keys.resolve(file)));
            for (int i = 1; m.find(); i++) {
                out.put("exported " + file + " key " + i, HexFormat.of().parseHex(m.group(1).toLowerCase()));
            }
        }
        return out;
    }

    private static String exportText(Path keys) throws IOException {
        return Files.readString(keys.resolve("esp_sa")) + Files.readString(keys.resolve("ikev2_decryption_table"));
    }

    /**
     * Every regular file Keel wrote under its directory but the key export (plaintext keys by
     * design) and the inputs the test wrote (configuration, PSK file).
     */
    private static Map<String, String> filesKeelWrote(Path dir) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).sorted().toList()) {
                String name = dir.relativize(p).toString();
                if (!name.startsWith("keys/") && !name.equals("keel.yaml") && !name.equals("psk.txt")) {
                    out.put("file " + name, new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1));
                }
            }
        }
        assertThat(out).as("Keel's output file").containsKey("file keel.log");
        assertThat(out.get("file keel.log")).as("Keel logged at trace").contains(" TRACE [");
        return out;
    }

    /** What an operator and a monitoring system read of the node now, kept under {@code phase}. */
    private static void listEverything(KeelctlCalls ctl, NetnsTopology topo, Map<String, String> written, String phase)
            throws IOException {
        for (List<String> args : List.of(List.of("--list-sas"), List.of("--list-sas", "--json"),
                List.of("--list-sad"), List.of("--list-sad", "--json"), List.of("--list-conns"),
                List.of("--list-conns", "--json"), List.of("--list-pols"), List.of("--stats"),
                List.of("--stats", "--json"))) {
            ctl.ok(args.toArray(String[]::new));
        }
        written.put("metrics (" + phase + ")", topo.exec(topo.a().gatewayNamespace(), WAIT, "curl", "-sS",
                "--max-time", "15", "http://" + METRICS + "/metrics").requireOk().output());
    }

    /**
     * Traffic through the CHILD SA, so the data plane runs (and logs) too. Losses are the other
     * interop tests' business; on a loaded machine the first ping after a change can be one.
     */
    private static void pingThroughTheTunnel(NetnsTopology topo) throws IOException {
        assertThat(CharonPairTest.pingsAnswered(topo, 3)).as("pings answered through the tunnel").isPositive();
    }

    private static void awaitOneInstalledChild(StrongSwanPeer charon) throws IOException {
        List<SwanctlSas.IkeSa> sas = charon.awaitSas(l -> l.size() == 1 && l.getFirst().state().equals("ESTABLISHED")
                && l.getFirst().children().size() == 1
                && l.getFirst().children().getFirst().state().equals("INSTALLED"), WAIT);
        assertThat(CharonPairTest.single(sas).children()).as("charon's CHILD SAs").hasSize(1);
    }

    /** Waits until charon's log holds {@code n} dumps labelled {@code label}. */
    private static void awaitDumps(StrongSwanPeer charon, String label, int n) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (CharonKeyLog.dumps(charon.log()).getOrDefault(label, List.of()).size() < n) {
            assertThat(System.nanoTime()).as("%d '%s' dumps in charon's log", n, label).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static String sizes(Map<String, String> written) {
        Map<String, Integer> s = new LinkedHashMap<>();
        written.forEach((k, v) -> s.put(k, v.length()));
        return s.toString();
    }

    /** keelctl against the node's Unix socket; every answer kept in {@code written}. */
    private record KeelctlCalls(String uri, Map<String, String> written) {

        KeelctlInThisJvm.Result run(String... args) {
            List<String> all = new ArrayList<>(List.of(args));
            all.addAll(List.of("--uri", uri));
            KeelctlInThisJvm.Result r = KeelctlInThisJvm.run(all.toArray(String[]::new));
            String key = "keelctl " + String.join(" ", args);
            for (int i = 2; written.containsKey(key); i++) {
                key = "keelctl " + String.join(" ", args) + " (" + i + ")";
            }
            written.put(key, r.out() + r.err());
            return r;
        }

        void ok(String... args) {
            KeelctlInThisJvm.Result r = run(args);
            assertThat(r.exitCode()).as("keelctl " + String.join(" ", args) + ":\n" + r.out() + r.err()).isZero();
        }
    }
}
