package dev.keel.esp.raw;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.config.ConfigProblem;
import dev.keel.esp.config.WorkerConfigLoader;
import dev.keel.esp.config.WorkerConfigResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The worker config's {@code transport} key: default, both spellings, and an unknown value. */
class RawEspConfigTest {

    private static final String KEY36 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff01020304";

    private static final String BASE = """
            listen: 10.0.0.1:4500
            loops: 1
            %s
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

    @TempDir
    Path dir;

    private WorkerConfigResult load(String transportLine) throws Exception {
        Path f = dir.resolve("worker.yaml");
        Files.writeString(f, BASE.formatted(transportLine));
        return new WorkerConfigLoader(Map.of("IN", KEY36, "OUT", KEY36)::get).loadFile(f);
    }

    private static OuterTransport transport(WorkerConfigResult r) {
        assertThat(r).as(r.toString()).isInstanceOf(WorkerConfigResult.Valid.class);
        return ((WorkerConfigResult.Valid) r).config().transport();
    }

    @Test
    void udpEncapIsTheDefaultAndBothTransportsAreAccepted() throws Exception {
        assertThat(transport(load(""))).isEqualTo(OuterTransport.UDP_ENCAP);
        assertThat(transport(load("transport: udp-encap"))).isEqualTo(OuterTransport.UDP_ENCAP);
        assertThat(transport(load("transport: raw-esp"))).isEqualTo(OuterTransport.RAW_ESP);
    }

    @Test
    void anUnknownTransportNamesTheFileTheKeyAndTheChoices() throws Exception {
        for (String bad : List.of("transport: esp-raw", "transport: RAW-ESP", "transport: [raw-esp]")) {
            WorkerConfigResult r = load(bad);
            assertThat(r).as(bad).isInstanceOf(WorkerConfigResult.Invalid.class);
            List<ConfigProblem> problems = ((WorkerConfigResult.Invalid) r).problems();
            assertThat(problems).as(bad).hasSize(1);
            ConfigProblem p = problems.getFirst();
            assertThat(p.file()).endsWith("worker.yaml");
            assertThat(p.path()).isEqualTo("transport");
            assertThat(p.line()).isEqualTo(3);
            if (!bad.contains("[")) {
                assertThat(p.message()).contains("'udp-encap' or 'raw-esp'");
            }
        }
    }
}
