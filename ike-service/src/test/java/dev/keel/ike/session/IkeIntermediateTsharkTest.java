package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.PcapWriter;
import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import dev.keel.ike.export.IkeDecryptionTable;
import dev.keel.ike.message.IkeHeader;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hybrid x25519 + ML-KEM-512 IKE SA between two Keel engines, captured and read back by tshark
 * with the keys of each phase: IKE_SA_INIT's keys open the IKE_INTERMEDIATE exchange (exchange
 * type 43, KE payloads of method 35 with ek and ciphertext of FIPS 203's lengths), the keys after
 * the RFC 9370 §2.2.2 update open IKE_AUTH. tshark, which nobody here wrote, decrypting IKE_AUTH
 * with the updated keys shows they are the ones protecting it on the wire.
 */
class IkeIntermediateTsharkTest {

    private static final List<String> FIELDS = List.of("isakmp.exchangetype", "isakmp.messageid",
            "isakmp.key_exchange.dh_group", "isakmp.key_exchange.data", "isakmp.auth.method", "isakmp.id.data.fqdn",
            "_ws.malformed", "_ws.expert.message");

    @Test
    void tsharkDissectsIkeIntermediateWithTheFirstKeysAndIkeAuthWithTheUpdatedOnes(@TempDir Path dir) throws Exception {
        Tshark tshark = new Tshark(SystemTests.assumeTool("tshark"));
        String ike = "aes256gcm16-prfsha384-x25519-ke1_mlkem512";
        ConcurrentLinkedQueue<byte[]> wire = new ConcurrentLinkedQueue<>();
        AtomicReference<IkeDecryptionTable.Row> firstKeys = new AtomicReference<>();
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(ike, ike, "aes256gcm16", "aes256gcm16", "pq-s3cret-pq", "pq-s3cret-pq",
                    "10.2.0.0/16", "10.2.0.0/16");
            dev.keel.ike.engine.IkeEngine[] alice = {peers.alice};
            peers.dropToBob = d -> {
                // on alice's SA thread, as her IKE_INTERMEDIATE request leaves under IKE_SA_INIT's keys
                if (TwoIkePeers.isRequest(d, "IKE_INTERMEDIATE") && firstKeys.get() == null) {
                    firstKeys.set(IkeDecryptionTable.Row.of(TwoIkePeers.onlyIkeSa(alice[0])));
                }
                wire.add(d.clone());
                return false;
            };
            peers.dropToAlice = d -> {
                wire.add(d.clone());
                return false;
            };
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(20, TimeUnit.SECONDS);
            IkeDecryptionTable.Row lastKeys = peers.alice.onSaThread(sa, IkeDecryptionTable.Row::of).get(5, TimeUnit.SECONDS);

            InetAddress a = InetAddress.getByName("192.0.2.1");
            InetAddress b = InetAddress.getByName("192.0.2.2");
            List<byte[]> packets = new ArrayList<>();
            for (byte[] d : wire) {
                boolean fromAlice = IkeHeader.peek(d).orElseThrow().isInitiator();
                packets.add(fromAlice ? PcapWriter.udpPacket(a, b, 500, 500, d) : PcapWriter.udpPacket(b, a, 500, 500, d));
            }
            Path pcap = PcapWriter.writeAll(dir.resolve("pq-ike.pcap"), packets.toArray(byte[][]::new));

            List<List<String>> withFirst = dissect(tshark, pcap, firstKeys.get());
            List<List<String>> intermediate = withFirst.stream().filter(f -> f.get(0).equals("43")).toList();
            assertThat(intermediate).hasSize(2);
            for (List<String> f : intermediate) {
                assertThat(f.get(1)).isEqualTo("0x00000001");
                assertThat(f.get(2)).as("KE method in the decrypted IKE_INTERMEDIATE").isEqualTo("35");
                assertThat(f.get(6) + f.get(7)).as("malformed / expert info").isEmpty();
            }
            assertThat(intermediate.get(0).get(3)).hasSize(2 * 800); // ML-KEM-512 ek
            assertThat(intermediate.get(1).get(3)).hasSize(2 * 768); // ML-KEM-512 ciphertext

            List<List<String>> withLast = dissect(tshark, pcap, lastKeys);
            List<List<String>> auth = withLast.stream().filter(f -> f.get(0).equals("35")).toList();
            assertThat(auth).hasSize(2);
            assertThat(auth.get(0).get(1)).isEqualTo("0x00000002"); // IKE_AUTH after one IKE_INTERMEDIATE
            assertThat(auth.get(0).get(4)).isEqualTo("2"); // shared key MIC
            assertThat(auth.get(0).get(5)).contains("alice.example");
            assertThat(auth.get(1).get(5)).contains("bob.example");
            // and the first keys do not open IKE_AUTH: the update took place
            assertThat(withFirst.stream().filter(f -> f.get(0).equals("35")).map(f -> f.get(4)))
                    .allMatch(String::isEmpty);
            firstKeys.get().wipe();
            lastKeys.wipe();
        }
    }

    private static List<List<String>> dissect(Tshark tshark, Path pcap, IkeDecryptionTable.Row keys) {
        List<String> args = new ArrayList<>(List.of("-r", pcap.toString(), "-o", IkeDecryptionTable.tsharkOption(keys),
                "-T", "fields", "-E", "occurrence=f", "-E", "separator=|"));
        for (String f : FIELDS) {
            args.add("-e");
            args.add(f);
        }
        List<List<String>> frames = new ArrayList<>();
        for (String line : tshark.run(args, Duration.ofSeconds(60)).requireSuccess().stdout().lines().toList()) {
            List<String> values = new ArrayList<>(List.of(line.split("\\|", -1)));
            while (values.size() < FIELDS.size()) {
                values.add("");
            }
            frames.add(values);
        }
        return frames;
    }
}
