package dev.keel.esp.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.EspWorkerMain;
import dev.keel.esp.packet.InnerPackets;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two workers started from YAML files the way {@code keel-esp-worker} starts them (no
 * privileges: UDP virtual wires on loopback), AES-256-CBC + HMAC-SHA-256: inner packets sent
 * into A's wire come out of B's, intact, and after traffic the SAs still hold the configured
 * keys (a start that wiped them would make both sides agree on an all-zero key, and still pass
 * the traffic).
 */
class WorkerFromYamlTest {

    private static final HexFormat HEX = HexFormat.of();

    @TempDir
    Path dir;

    @Test
    @Timeout(60)
    void twoWorkersFromYamlCarryPacketsWithTheConfiguredKeys() throws Exception {
        byte[] encAb = new byte[32];
        byte[] intAb = new byte[32];
        byte[] encBa = new byte[32];
        byte[] intBa = new byte[32];
        new java.util.Random(42).nextBytes(encAb);
        new java.util.Random(43).nextBytes(intAb);
        new java.util.Random(44).nextBytes(encBa);
        new java.util.Random(45).nextBytes(intBa);
        Map<String, String> env = Map.of("AB_ENC", HEX.formatHex(encAb), "AB_INT", HEX.formatHex(intAb),
                "BA_ENC", HEX.formatHex(encBa), "BA_INT", HEX.formatHex(intBa));
        try (DatagramChannel hostA = DatagramChannel.open(StandardProtocolFamily.INET);
                DatagramChannel hostB = DatagramChannel.open(StandardProtocolFamily.INET)) {
            hostA.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            hostB.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int udpA = free("127.0.0.2");
            int udpB = free("127.0.0.3");
            int wireA = free("127.0.0.2");
            int wireB = free("127.0.0.3");
            Path a = dir.resolve("a.yaml");
            Path b = dir.resolve("b.yaml");
            Files.writeString(a, yaml("127.0.0.2:" + udpA, "127.0.0.3:" + udpB, "127.0.0.2:" + wireA,
                    port(hostA), "10.1.0.0/16", "10.2.0.0/16", "0x2001", "BA", "0x1002", "AB"));
            Files.writeString(b, yaml("127.0.0.3:" + udpB, "127.0.0.2:" + udpA, "127.0.0.3:" + wireB,
                    port(hostB), "10.2.0.0/16", "10.1.0.0/16", "0x1002", "AB", "0x2001", "BA"));
            WorkerConfigLoader loader = new WorkerConfigLoader(env::get);
            WorkerConfig ca = ((WorkerConfigResult.Valid) loader.loadFile(a)).config();
            WorkerConfig cb = ((WorkerConfigResult.Valid) loader.loadFile(b)).config();
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            PrintStream out = new PrintStream(log, true);
            try (EspWorkerMain.Worker wa = EspWorkerMain.start(ca, out);
                    EspWorkerMain.Worker wb = EspWorkerMain.start(cb, out)) {
                assertThat(log.toString()).contains("keel-esp-worker: started: udp /127.0.0.2:" + udpA);
                hostB.configureBlocking(true);
                ByteBuffer rx = ByteBuffer.allocate(4096);
                for (int i = 0; i < 50; i++) {
                    byte[] inner = InnerPackets.ipv4(InnerPackets.V4_A, InnerPackets.V4_B, 17, 100 + 20 * i, i);
                    hostA.send(ByteBuffer.wrap(inner), new InetSocketAddress("127.0.0.2", wireA));
                    rx.clear();
                    hostB.receive(rx);
                    rx.flip();
                    byte[] got = new byte[rx.remaining()];
                    rx.get(got);
                    assertThat(got).as("packet " + i).isEqualTo(inner);
                }
                byte[] key = wa.gateway().outboundSas().getFirst().spec().encryptionKey();
                assertThat(Arrays.equals(key, encAb)).as("A's outbound SA still holds the configured key").isTrue();
                assertThat(wb.gateway().inboundSas().all().getFirst().spec().integrityKey()).isEqualTo(intAb);
            }
            assertThat(log.toString()).contains("keel-esp-worker: stopping");
        }
    }

    private static String yaml(String listen, String peer, String bind, String host, String local, String remote,
            String inSpi, String inKey, String outSpi, String outKey) {
        return """
                listen: %s
                loops: 1
                keepalive: 0
                plaintext:
                  virtual_wire: {bind: "%s", host: "%s"}
                sas:
                  peer:
                    peer: "%s"
                    esp: aes256-sha256
                    local_ts: %s
                    remote_ts: %s
                    in: {spi: %s, enc_key: "env:%s_ENC", integ_key: "env:%s_INT"}
                    out: {spi: %s, enc_key: "env:%s_ENC", integ_key: "env:%s_INT"}
                """.formatted(listen, bind, host, peer, local, remote, inSpi, inKey, inKey, outSpi, outKey, outKey);
    }

    private static String port(DatagramChannel ch) throws Exception {
        return "127.0.0.1:" + ((InetSocketAddress) ch.getLocalAddress()).getPort();
    }

    private static int free(String host) throws Exception {
        try (DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET)) {
            ch.bind(new InetSocketAddress(host, 0));
            return ((InetSocketAddress) ch.getLocalAddress()).getPort();
        }
    }
}
