package dev.keel.esp.config;

import dev.keel.core.config.ConfigProblem;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.esp.EspWorkerMainAccess;
import dev.keel.esp.forward.StaticSaPair;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerConfigLoaderTest {

    private static final String KEY36 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff01020304";
    private static final Path EXAMPLES = Path.of("..", "docs", "examples");

    @TempDir
    Path dir;

    private static WorkerConfigLoader loader(Map<String, String> env) {
        return new WorkerConfigLoader(env::get);
    }

    private WorkerConfigResult load(String yaml, Map<String, String> env) throws Exception {
        Path f = dir.resolve("worker.yaml");
        Files.writeString(f, yaml);
        return loader(env).loadFile(f);
    }

    private static List<String> problems(WorkerConfigResult r) {
        assertThat(r).isInstanceOf(WorkerConfigResult.Invalid.class);
        return ((WorkerConfigResult.Invalid) r).problems().stream().map(ConfigProblem::toString).toList();
    }

    private static final String BASE = """
            listen: 10.0.0.1:4500
            loops: 1
            plaintext:
              tun: {name: kd0, addresses: [192.168.1.1/24]}
            sas:
              b:
                peer: 10.0.0.2
                esp: aes256gcm16
                local_ts: 192.168.1.0/24
                remote_ts: 192.168.2.0/24
                in: {spi: 0xc0000002, enc_key: "env:IN"}
                out: {spi: 0xc0000001, enc_key: "env:OUT"}
            """;

    @Test
    void readsTheSiteExamplesWithKeysFromAFileAndTheEnvironment() {
        for (String name : List.of("static-site-a.yaml", "static-site-b.yaml")) {
            WorkerConfigResult r = loader(Map.of("KEEL_A_TO_B_KEY", KEY36)).loadFile(EXAMPLES.resolve(name));
            assertThat(r).as(name + ": " + r).isInstanceOf(WorkerConfigResult.Valid.class);
            WorkerConfig c = ((WorkerConfigResult.Valid) r).config();
            assertThat(c.listen().getPort()).isEqualTo(4500);
            assertThat(c.plaintext()).isInstanceOf(PlaintextConfig.Tun.class);
            StaticSaPair p = c.sas().getFirst().pair();
            assertThat(p.inbound().encryption()).isEqualTo(EncryptionTransform.AES_GCM_16);
            assertThat(p.inbound().encryptionKey()).hasSize(36);
            assertThat(p.inbound().esn()).isTrue();
            assertThat(p.inbound().replayWindowSize()).isEqualTo(1024);
            assertThat(p.inbound().mode()).isEqualTo(IpsecMode.TUNNEL);
            assertThat(p.local()).hasSize(2);
            c.destroyKeys();
        }
        WorkerConfig a = ((WorkerConfigResult.Valid) loader(Map.of("KEEL_A_TO_B_KEY", KEY36))
                .loadFile(EXAMPLES.resolve("static-site-a.yaml"))).config();
        WorkerConfig b = ((WorkerConfigResult.Valid) loader(Map.of("KEEL_A_TO_B_KEY", KEY36))
                .loadFile(EXAMPLES.resolve("static-site-b.yaml"))).config();
        // The mirror: A's outbound SA is B's inbound one, same SPI and key.
        assertThat(a.sas().getFirst().pair().outbound().spi()).isEqualTo(b.sas().getFirst().pair().inbound().spi());
        assertThat(a.sas().getFirst().pair().outbound().encryptionKey())
                .isEqualTo(b.sas().getFirst().pair().inbound().encryptionKey());
    }

    @Test
    void tunOffloadIsOnByDefaultAndCanBeTurnedOff() throws Exception {
        Map<String, String> env = Map.of("IN", KEY36, "OUT", KEY36);
        WorkerConfigResult on = load(BASE, env);
        assertThat(((PlaintextConfig.Tun) ((WorkerConfigResult.Valid) on).config().plaintext()).offload()).isTrue();
        WorkerConfigResult off = load(BASE.replace("addresses: [192.168.1.1/24]}", "addresses: [192.168.1.1/24], offload: false}"), env);
        assertThat(((PlaintextConfig.Tun) ((WorkerConfigResult.Valid) off).config().plaintext()).offload()).isFalse();
        WorkerConfigResult bad = load(BASE.replace("addresses: [192.168.1.1/24]}", "addresses: [192.168.1.1/24], offload: maybe}"), env);
        assertThat(problems(bad)).anyMatch(p -> p.contains("plaintext.tun.offload"));
    }

    @Test
    void readsACbcSuiteWithSeparateIntegrityKeys() {
        Map<String, String> env = Map.of("KEEL_IN_ENC", KEY36.substring(0, 32), "KEEL_OUT_ENC", KEY36.substring(0, 32),
                "KEEL_IN_INTEG", KEY36.substring(0, 64), "KEEL_OUT_INTEG", KEY36.substring(0, 64));
        WorkerConfigResult r = loader(env).loadFile(EXAMPLES.resolve("static-cbc-virtual-wire.yaml"));
        assertThat(r).as(r.toString()).isInstanceOf(WorkerConfigResult.Valid.class);
        StaticSaPair p = ((WorkerConfigResult.Valid) r).config().sas().getFirst().pair();
        assertThat(p.outbound().encryption()).isEqualTo(EncryptionTransform.AES_CBC);
        assertThat(p.outbound().integrity()).isEqualTo(IntegrityTransform.HMAC_SHA2_256_128);
        assertThat(p.outbound().integrityKey()).hasSize(32);
    }

    @Test
    void aKeyOfTheWrongLengthIsReportedWithPositionAndWithoutItsValue() throws Exception {
        String shortKey = KEY36.substring(0, 32);
        List<String> ps = problems(load(BASE, Map.of("IN", shortKey, "OUT", KEY36)));
        assertThat(ps).hasSize(1);
        assertThat(ps.getFirst()).matches(".*worker\\.yaml:11:\\d+: sas\\.b\\.in\\.enc_key: environment variable IN"
                + " holds 16 bytes; the suite needs 36 \\(32-byte key followed by the 4-byte salt\\)");
        assertThat(ps.getFirst()).doesNotContain(shortKey);
    }

    @Test
    void duplicateSpisUnknownKeysInlineKeysAndBadSelectorsAreAllReportedInOneLoad() throws Exception {
        String yaml = BASE.replace("0xc0000001", "0xc0000002").replace("loops: 1", "lops: 1")
                .replace("remote_ts: 192.168.2.0/24", "remote_ts: 192.168.2.0/33")
                .replace("\"env:OUT\"", KEY36);
        List<String> ps = problems(load(yaml, Map.of("IN", KEY36)));
        assertThat(ps).anySatisfy(p -> assertThat(p).contains("worker.yaml:2:1: lops: unknown key 'lops'; did you mean 'loops'?"));
        assertThat(ps).anySatisfy(p -> assertThat(p).contains("sas.b.remote_ts[0]:"));
        assertThat(ps).anySatisfy(p -> assertThat(p).contains("sas.b.out.enc_key: give the key by reference"));
        assertThat(ps).allSatisfy(p -> assertThat(p).doesNotContain(KEY36));
        // Outbound and inbound SPIs may coincide (different directions); two inbound SAs with one SPI may not.
        String twoInbound = BASE + """
                  c:
                    peer: 10.0.0.3
                    esp: aes256gcm16
                    local_ts: 192.168.1.0/24
                    remote_ts: 192.168.3.0/24
                    in: {spi: 0xc0000002, enc_key: "env:IN"}
                    out: {spi: 0xc0000003, enc_key: "env:OUT"}
                """;
        List<String> dup = problems(load(twoInbound, Map.of("IN", KEY36, "OUT", KEY36)));
        assertThat(dup).singleElement().asString()
                .contains("worker.yaml:18:").contains("sas.c.in.spi: SPI 0xc0000002 is already used by sas.b.in.spi");
    }

    @Test
    void suitesAreCheckedAgainstTheirKeys() throws Exception {
        String yaml = BASE.replace("esp: aes256gcm16", "esp: aes128");
        assertThat(problems(load(yaml, Map.of("IN", KEY36, "OUT", KEY36))))
                .anySatisfy(p -> assertThat(p).contains("sas.b.esp:").contains("integrity"));
        String aead = BASE.replace("in: {spi: 0xc0000002, enc_key: \"env:IN\"}",
                "in: {spi: 0xc0000002, enc_key: \"env:IN\", integ_key: \"env:IN\"}");
        assertThat(problems(load(aead, Map.of("IN", KEY36, "OUT", KEY36))))
                .singleElement().asString().contains("sas.b.in.integ_key: 'aes256gcm16' is an AEAD suite");
        String dh = BASE.replace("esp: aes256gcm16", "esp: aes256gcm16-modp2048");
        assertThat(problems(load(dh, Map.of("IN", KEY36, "OUT", KEY36))))
                .singleElement().asString().contains("no key exchange");
        assertThat(problems(load(BASE, Map.of("IN", "zz" + KEY36.substring(2), "OUT", KEY36))))
                .singleElement().asString().contains("does not hold hexadecimal key bytes");
    }

    @Test
    void checkOptionValidatesAndReportsEveryProblem() throws Exception {
        Path good = dir.resolve("good.yaml");
        Files.writeString(good, BASE.replace("\"env:IN\"", "\"file:in.hex\"").replace("\"env:OUT\"", "\"file:in.hex\""));
        Files.writeString(dir.resolve("in.hex"), KEY36 + "\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = EspWorkerMainAccess.run(new String[] {"--check", good.toString()}, new PrintStream(out), new PrintStream(err));
        assertThat(rc).as(err.toString()).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("OK, 1 SA pair(s): b");

        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, BASE.replace("\"env:IN\"", "\"file:missing.hex\""));
        out.reset();
        rc = EspWorkerMainAccess.run(new String[] {"--check", bad.toString()}, new PrintStream(out), new PrintStream(err));
        assertThat(rc).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("bad.yaml:11:").contains("sas.b.in.enc_key: cannot read file").contains("no such file")
                .contains("sas.b.out.enc_key: environment variable OUT is not set");
    }
}
