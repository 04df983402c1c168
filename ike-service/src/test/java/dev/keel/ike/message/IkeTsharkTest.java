package dev.keel.ike.message;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.PcapWriter;
import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keel-encoded messages in a pcap as UDP/500, dissected by tshark, which nobody here wrote. */
class IkeTsharkTest {
    private static final List<String> FIELDS = List.of(
            "isakmp.exchangetype", "isakmp.ispi", "isakmp.rspi", "isakmp.messageid", "isakmp.flag_i", "isakmp.flag_r",
            "isakmp.typepayload", "isakmp.prop.number", "isakmp.prop.protoid", "isakmp.spi", "isakmp.tf.type",
            "isakmp.tf.id.encr", "isakmp.tf.id.prf", "isakmp.tf.id.integ", "isakmp.tf.id.dh", "isakmp.tf.id.esn",
            "isakmp.ike2.attr.key_length", "isakmp.key_exchange.dh_group", "isakmp.nonce",
            "isakmp.notify.msgtype", "isakmp.notify.data.signature_hash_algorithms", "isakmp.vid_bytes",
            "isakmp.id.type", "isakmp.id.data.fqdn", "isakmp.id.data.ipv4_addr", "isakmp.auth.method",
            "isakmp.certreq.type", "isakmp.ike.certreq.authority", "isakmp.ts.type", "isakmp.ts.protoid",
            "isakmp.ts.start_port", "isakmp.ts.end_port", "isakmp.ts.start_ipv4", "isakmp.ts.end_ipv4",
            "isakmp.ts.start_ipv6", "isakmp.ts.end_ipv6", "isakmp.delete.protoid", "isakmp.delete.spi",
            "_ws.malformed", "_ws.expert.severity", "_ws.expert.message");

    private static Tshark tshark;

    @BeforeAll
    static void tshark() {
        tshark = new Tshark(SystemTests.assumeTool("tshark"));
    }

    @Test
    void tsharkReadsWhatKeelEncoded(@TempDir Path dir) throws Exception {
        InetAddress a = InetAddress.getByName("192.0.2.1");
        InetAddress b = InetAddress.getByName("192.0.2.2");
        Path pcap = PcapWriter.writeAll(dir.resolve("keel-ike.pcap"),
                PcapWriter.udpPacket(a, b, 500, 500, SampleMessages.ikeSaInitRequest().bytes()),
                PcapWriter.udpPacket(a, b, 500, 500, SampleMessages.ikeAuthInClear().bytes()),
                PcapWriter.udpPacket(b, a, 500, 500, SampleMessages.informationalInClear().bytes()),
                // negative control: a payload length running past the message must be flagged
                PcapWriter.udpPacket(a, b, 500, 500, overrunPayloadLength(SampleMessages.informationalInClear().bytes())));
        List<String> args = new ArrayList<>(List.of("-r", pcap.toString(), "-T", "fields", "-E", "occurrence=a",
                "-E", "aggregator=,", "-E", "separator=|"));
        for (String f : FIELDS) {
            args.add("-e");
            args.add(f);
        }
        List<Map<String, String>> frames = new ArrayList<>();
        for (String line : tshark.run(args, Duration.ofSeconds(60)).requireSuccess().stdout().lines().toList()) {
            String[] values = line.split("\\|", -1);
            Map<String, String> frame = new LinkedHashMap<>();
            for (int i = 0; i < FIELDS.size(); i++) {
                frame.put(FIELDS.get(i), i < values.length ? values[i] : "");
            }
            frames.add(frame);
        }
        assertThat(frames).hasSize(4);
        for (Map<String, String> f : frames.subList(0, 3)) {
            assertThat(f.get("_ws.malformed")).as("malformed").isEmpty();
            assertThat(f.get("_ws.expert.message")).as("expert info").isEmpty();
        }
        assertThat(frames.get(3).get("_ws.malformed") + frames.get(3).get("_ws.expert.message"))
                .as("the negative control is flagged").isNotEmpty();

        Map<String, String> init = frames.get(0);
        assertThat(init).containsEntry("isakmp.exchangetype", "34")
                .containsEntry("isakmp.ispi", "0123456789abcdef").containsEntry("isakmp.rspi", "0000000000000000")
                .containsEntry("isakmp.messageid", "0x00000000")
                .containsEntry("isakmp.flag_i", "1").containsEntry("isakmp.flag_r", "0")
                .containsEntry("isakmp.prop.number", "1,2").containsEntry("isakmp.prop.protoid", "1,1")
                .containsEntry("isakmp.tf.type", "1,2,4,1,3,2,4")
                .containsEntry("isakmp.tf.id.encr", "20,12") // AES_GCM_16, AES_CBC
                .containsEntry("isakmp.ike2.attr.key_length", "256,128")
                .containsEntry("isakmp.tf.id.prf", "5,5") // PRF_HMAC_SHA2_256
                .containsEntry("isakmp.tf.id.integ", "12") // AUTH_HMAC_SHA2_256_128
                .containsEntry("isakmp.tf.id.dh", "31,14")
                .containsEntry("isakmp.key_exchange.dh_group", "31")
                .containsEntry("isakmp.nonce", HexFormat.of().formatHex(SampleMessages.NONCE))
                .containsEntry("isakmp.notify.msgtype", "16388,16389,16430,16431")
                .containsEntry("isakmp.notify.data.signature_hash_algorithms", "2,3,4")
                .containsEntry("isakmp.vid_bytes", HexFormat.of().formatHex("keel".getBytes()));
        assertThat(payloadTypes(init)).containsExactly("33", "34", "40", "41", "41", "41", "41", "43");

        Map<String, String> auth = frames.get(1);
        assertThat(auth).containsEntry("isakmp.exchangetype", "35")
                .containsEntry("isakmp.rspi", "fedcba9876543210").containsEntry("isakmp.messageid", "0x00000001")
                .containsEntry("isakmp.id.type", "2,1") // ID_FQDN, ID_IPV4_ADDR
                .containsEntry("isakmp.id.data.fqdn", "gw1.example.org")
                .containsEntry("isakmp.id.data.ipv4_addr", "192.0.2.2")
                .containsEntry("isakmp.auth.method", "2")
                .containsEntry("isakmp.certreq.type", "4")
                .containsEntry("isakmp.ike.certreq.authority", HexFormat.of().formatHex(SampleMessages.CA_HASH))
                .containsEntry("isakmp.notify.msgtype", "16384,16396")
                .containsEntry("isakmp.prop.protoid", "3").containsEntry("isakmp.spi", "c1a2b3d4")
                .containsEntry("isakmp.tf.id.encr", "20").containsEntry("isakmp.tf.id.esn", "0")
                .containsEntry("isakmp.ts.type", "7,8,7")
                .containsEntry("isakmp.ts.protoid", "0,6,17")
                .containsEntry("isakmp.ts.start_port", "0,443,53").containsEntry("isakmp.ts.end_port", "65535,443,53")
                .containsEntry("isakmp.ts.start_ipv4", "10.1.0.0,10.2.0.0")
                .containsEntry("isakmp.ts.end_ipv4", "10.1.255.255,10.2.0.255")
                .containsEntry("isakmp.ts.start_ipv6", "2001:db8:1::")
                .containsEntry("isakmp.ts.end_ipv6", "2001:db8:1:ffff:ffff:ffff:ffff:ffff");
        assertThat(payloadTypes(auth)).containsExactly("35", "39", "38", "41", "36", "33", "44", "45", "41");

        Map<String, String> info = frames.get(2);
        assertThat(info).containsEntry("isakmp.exchangetype", "37").containsEntry("isakmp.messageid", "0x00000007")
                .containsEntry("isakmp.flag_i", "0").containsEntry("isakmp.flag_r", "1")
                .containsEntry("isakmp.delete.protoid", "3").containsEntry("isakmp.delete.spi", "c1a2b3d4,01020304")
                .containsEntry("isakmp.notify.msgtype", "16384");
        assertThat(payloadTypes(info)).containsExactly("42", "41");
    }

    /** Payload types in order; tshark reports Proposal (2) and Transform (3) substructures in the same field. */
    private static List<String> payloadTypes(Map<String, String> frame) {
        return Arrays.stream(frame.get("isakmp.typepayload").split(",")).filter(t -> Integer.parseInt(t) >= 33).toList();
    }

    /** The message with its first payload's length pointing 8 bytes past the end. */
    private static byte[] overrunPayloadLength(byte[] message) {
        byte[] m = message.clone();
        int length = m.length - IkeHeader.LENGTH + 8;
        m[30] = (byte) (length >>> 8);
        m[31] = (byte) length;
        return m;
    }
}
