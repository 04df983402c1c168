package dev.keel.gateway.ctl;

import static dev.keel.gateway.ctl.FakeNode.NOW;
import static dev.keel.gateway.ctl.FakeNode.lines;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.Algorithms;
import dev.keel.proto.v1.CertInfo;
import dev.keel.proto.v1.ChildSaInfo;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.IkeSaInfo;
import dev.keel.proto.v1.IkeSaState;
import dev.keel.proto.v1.InitiateRequest;
import dev.keel.proto.v1.IpsecMode;
import dev.keel.proto.v1.IpsecProtocol;
import dev.keel.proto.v1.ListCertsResponse;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListChildSasResponse;
import dev.keel.proto.v1.ListIkeSasRequest;
import dev.keel.proto.v1.ListIkeSasResponse;
import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.LogSubsystem;
import dev.keel.proto.v1.RekeyRequest;
import dev.keel.proto.v1.RekeyResponse;
import dev.keel.proto.v1.SetLogLevelsRequest;
import dev.keel.proto.v1.SetLogLevelsResponse;
import dev.keel.proto.v1.StatsResponse;
import dev.keel.proto.v1.SubsystemLevel;
import dev.keel.proto.v1.TerminateRequest;
import dev.keel.proto.v1.TerminateResponse;
import dev.keel.proto.v1.WatchLogRequest;
import io.grpc.Status;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * keelctl against an in-process node ({@link FakeNode}): each verb prints what swanctl prints in
 * swanctl's shape, {@code --json} prints the answer itself, and each failure is one line with its
 * exit status (1 failed, 2 usage, 3 unreachable, 4 denied).
 */
@Timeout(60)
class KeelctlTest {

    private FakeNode node;

    @TempDir
    Path dir;

    @BeforeEach
    void start() throws Exception {
        node = new FakeNode();
    }

    @AfterEach
    void stop() {
        node.close();
    }

    /** An established IKE SA with one CHILD SA, 12 s old, as the examples in docs/operations.md. */
    static IkeSaInfo ikeSa() throws Exception {
        long now = NOW.toEpochMilli();
        return IkeSaInfo.newBuilder().setConnection("tunnel").setUniqueId(1).setState(IkeSaState.IKE_SA_STATE_ESTABLISHED)
                .setInitiator(true).setInitiatorSpi(0x1a2b3c4d5e6f7a8bL).setResponderSpi(0x9c8d7e6f5a4b3c2dL)
                .setLocal(CoreMapping.endpoint(InetAddress.getByName("192.0.2.1"), 4500))
                .setRemote(CoreMapping.endpoint(InetAddress.getByName("192.0.2.2"), 4500))
                .setLocalId("gw-a.keel.test").setRemoteId("gw-b.keel.test")
                .setAlgorithms(Algorithms.newBuilder().setEncryption("AES_GCM_16").setEncryptionKeyBits(256)
                        .setPrf("PRF_HMAC_SHA2_256").setKeyExchange("CURVE_25519"))
                .setEstablishedMillis(now - 12_000).setRekeyMillis(now + 13_886_000)
                .setNextRequestMessageId(2).setExpectedRequestMessageId(0).setOwner("gw-a")
                .addChildren(ChildSaInfo.newBuilder().setName("net").setUniqueId(2)
                        .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).setProtocol(IpsecProtocol.IPSEC_PROTOCOL_ESP)
                        .setMode(IpsecMode.IPSEC_MODE_TUNNEL).setEncap(true).setSpiIn(0xc1a2b3c4).setSpiOut(0xc5d6e7f8)
                        .setAlgorithms(Algorithms.newBuilder().setEncryption("AES_GCM_16").setEncryptionKeyBits(256))
                        .setBytesIn(336).setPacketsIn(4).setBytesOut(336).setPacketsOut(4)
                        .setLastInMillis(now - 1_000).setLastOutMillis(now - 1_000).setInstalledMillis(now - 12_000)
                        .setRekeyMillis(now + 3_277_000).setExpireMillis(now + 3_948_000)
                        .addLocalTs(CoreMapping.selector(TrafficSelector.parse("10.1.0.0/24")))
                        .addRemoteTs(CoreMapping.selector(TrafficSelector.parse("10.2.0.0/24"))))
                .build();
    }

    @Test
    void listSasPrintsSwanctlsBlockPerIkeSa() throws Exception {
        node.answers.put("ListIkeSas", ListIkeSasResponse.newBuilder().addIkeSas(ikeSa()).build());

        FakeNode.Run r = node.run("--list-sas", "--ike", "tunnel", "--ike-id", "1");

        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(lines("""
                tunnel: #1, ESTABLISHED, IKEv2, 1a2b3c4d5e6f7a8b_i* 9c8d7e6f5a4b3c2d_r
                  local  'gw-a.keel.test' @ 192.0.2.1[4500]
                  remote 'gw-b.keel.test' @ 192.0.2.2[4500]
                  AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519
                  established 12s ago, rekeying in 13886s
                  owner:   gw-a
                  net: #2, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256
                    installed 12s ago, rekeying in 3277s, expires in 3948s
                    in  c1a2b3c4,    336 bytes,     4 packets,     1s ago
                    out c5d6e7f8,    336 bytes,     4 packets,     1s ago
                    local  10.1.0.0/24
                    remote 10.2.0.0/24
                """));
        assertThat(node.requests).containsExactly(ListIkeSasRequest.newBuilder().setConnection("tunnel").setUniqueId(1).build());
        assertThat(node.targets.getFirst().uri()).as("the default URI").isEqualTo("unix:/run/keel/admin.sock");
    }

    @Test
    void jsonPrintsTheAnswerInProtobufsJsonMapping() throws Exception {
        ListIkeSasResponse answer = ListIkeSasResponse.newBuilder().addIkeSas(ikeSa()).build();
        node.answers.put("ListIkeSas", answer);

        FakeNode.Run r = node.run("-l", "--json");

        assertThat(r.status()).as(r.err()).isZero();
        assertThat(parse(r.out(), ListIkeSasResponse.getDefaultInstance())).isEqualTo(answer);
        assertThat(r.out()).contains("\"initiatorSpi\": \"1885667171979197067\"").contains("\"nextRequestMessageId\": 2")
                .as("fields at their default value are there too").contains("\"expectedRequestMessageId\": 0");
    }

    @Test
    void listConnsAndListPolsPrintThePolicyServicesConnectionsAndSpd() {
        FakeNode.Run conns = node.run("--list-conns");
        assertThat(conns.status()).as(conns.err()).isZero();
        assertThat(conns.out()).isEqualTo(lines("""
                tunnel: IKEv2, no reauthentication, rekeying every 14400s, dpd delay 30s
                  local:  192.0.2.1
                  remote: 192.0.2.2
                  proposals: aes256gcm16-prfsha256-x25519
                  local pre-shared key authentication:
                    id: gw-a.keel.test
                  remote pre-shared key authentication:
                    id: gw-b.keel.test
                  net: TUNNEL, rekeying every 3600s, expires after 3960s, dpd action is clear
                    local:  10.1.0.0/24
                    remote: 10.2.0.0/24
                    esp_proposals: aes256gcm16
                    start_action: start
                    priority: 1000
                backup: IKEv2, reauthentication every 28800s, rekeying every 14400s
                  local:  192.0.2.1
                  remote: 192.0.2.3
                  proposals: aes256gcm16-prfsha256-x25519 aes128gcm16-prfsha256-ecp256
                  local pre-shared key authentication:
                    id: gw-a.keel.test
                  remote pre-shared key authentication:
                    id: gw-c.keel.test
                  lan: TUNNEL, rekeying every 3600s, expires after 3960s
                    local:  10.1.0.0/24
                    remote: 10.3.0.0/24
                    esp_proposals: aes256gcm16 aes128gcm16
                    start_action: none
                    priority: 1000
                """));

        FakeNode.Run pols = node.run("--list-pols", "--ike", "backup");
        assertThat(pols.status()).as(pols.err()).isZero();
        assertThat(pols.out()).isEqualTo(lines("""
                backup/lan, PROTECT
                  local:  10.1.0.0/24
                  remote: 10.3.0.0/24
                """));
    }

    @Test
    void listCertsPrintsTheNodesCertificatesThenItsCas() {
        long now = NOW.toEpochMilli();
        node.answers.put("ListCerts", ListCertsResponse.newBuilder()
                .addCerts(CertInfo.newBuilder().setKind(CertInfo.Kind.KIND_CA).setSubject("CN=Keel test CA,O=Keel test")
                        .setIssuer("CN=Keel test CA,O=Keel test").setSerial("01").setNotBeforeMillis(now - 86_400_000)
                        .setNotAfterMillis(now + 10 * 86_400_000L).setPublicKey("ECDSA P-256"))
                .addCerts(CertInfo.newBuilder().setKind(CertInfo.Kind.KIND_END_ENTITY)
                        .setSubject("CN=gw-a.keel.test,O=Keel test").setIssuer("CN=Keel test CA,O=Keel test")
                        .setSerial("1a:2b").setNotBeforeMillis(now - 86_400_000).setNotAfterMillis(now + 86_400_000)
                        .setPublicKey("ECDSA P-256").addSubjectAltNames("DNS:gw-a.keel.test").setHasPrivateKey(true)
                        .addConnections("tunnel"))
                .build());

        FakeNode.Run r = node.run("--list-certs");

        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(lines("""

                List of X.509 End Entity Certificates

                  subject:  "CN=gw-a.keel.test,O=Keel test"
                  issuer:   "CN=Keel test CA,O=Keel test"
                  validity:  not before Jan 01 10:00:00 2025, ok
                             not after  Jan 03 10:00:00 2025, ok (expires in 86400s)
                  serial:    1a:2b
                  altNames:  DNS:gw-a.keel.test
                  pubkey:    ECDSA P-256, has private key
                  used by:   tunnel

                List of X.509 CA Certificates

                  subject:  "CN=Keel test CA,O=Keel test"
                  issuer:   "CN=Keel test CA,O=Keel test"
                  validity:  not before Jan 01 10:00:00 2025, ok
                             not after  Jan 12 10:00:00 2025, ok (expires in 864000s)
                  serial:    01
                  pubkey:    ECDSA P-256
                """));
    }

    @Test
    void statsPrintsUptimeSasAndCountersByName() {
        node.answers.put("Stats", StatsResponse.newBuilder().setVersion("0.1.0")
                .setStartedMillis(NOW.toEpochMilli() - 5 * 60_000).setIkeSas(3).setHalfOpenIkeSas(1).setChildSas(4)
                .setClusterMembers(2).putCounters("ike_rekeys_total{sa=\"ike\"}", 7)
                .putCounters("ike_exchange_failures_total{cause=\"refused\",exchange=\"IKE_AUTH\"}", 1)
                .putCounters("ike_cookies_sent_total", 0).build());

        FakeNode.Run r = node.run("--stats");

        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(lines("""
                Keel 0.1.0
                uptime: 5 minutes, since Jan 02 09:55:00 2025
                IKE_SAs: 3 total, 1 half-open
                CHILD_SAs: 4
                cluster members: 2
                counters (not zero; --json for all 3):
                  ike_exchange_failures_total{cause="refused",exchange="IKE_AUTH"}  1
                  ike_rekeys_total{sa="ike"}                                        7
                """));
    }

    @Test
    void listSadPrintsEveryPageOneRecordALine() throws Exception {
        ChildSaRecord in = ChildSaRecord.newBuilder().setConnection("tunnel").setChild("net")
                .setDirection(Direction.DIRECTION_INBOUND).setSpi(0xc1a2b3c4).setState(ChildSaState.CHILD_SA_STATE_ACTIVE)
                .setOwnerNodeId("gw-a").setOwnerEpoch(1).build();
        node.sadPages.add(ListChildSasResponse.newBuilder().addChildSas(in).build());
        node.sadPages.add(ListChildSasResponse.newBuilder().addChildSas(in.toBuilder()
                .setDirection(Direction.DIRECTION_OUTBOUND).setSpi(0x0000e7f8).setOwnerEpoch(2)).build());

        FakeNode.Run r = node.run("--list-sad", "--ike", "tunnel");

        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(lines("""
                tunnel net INBOUND c1a2b3c4 ACTIVE owner=gw-a epoch=1
                tunnel net OUTBOUND 0000e7f8 ACTIVE owner=gw-a epoch=2
                """));
        assertThat(node.requests).hasSize(2).allSatisfy(q -> assertThat(((ListChildSasRequest) q).getConnection())
                .isEqualTo("tunnel"));
    }

    @Test
    void initiatePrintsEachLogLineAsItArrives() throws Exception {
        CountDownLatch firstPrinted = new CountDownLatch(1);
        node.streams.put("Initiate", out -> () -> {
            out.onNext(log(LogSubsystem.LOG_SUBSYSTEM_IKE, "initiating IKE_SA tunnel[1] to 192.0.2.2"));
            try {
                // the next line comes only once keelctl has printed the first: it does not wait for the end
                if (!firstPrinted.await(20, TimeUnit.SECONDS)) {
                    throw Status.DEADLINE_EXCEEDED.withDescription("keelctl did not print the first line")
                            .asRuntimeException();
                }
            } catch (InterruptedException e) {
                throw Status.CANCELLED.asRuntimeException();
            }
            out.onNext(log(LogSubsystem.LOG_SUBSYSTEM_CHD, "CHILD_SA net{2} established with SPIs c1a2b3c4_i c5d6e7f8_o"));
        });
        StringWriter text = new StringWriter();
        StringWriter err = new StringWriter();
        PrintWriter out = new PrintWriter(FakeNode.watching(text, "initiating IKE_SA", firstPrinted::countDown));

        int status = node.run(Map.of(), out, new PrintWriter(err), "--initiate", "--child", "net", "--timeout", "20");

        assertThat(status).as(err.toString()).isZero();
        assertThat(text.toString()).isEqualTo(lines("""
                [IKE] initiating IKE_SA tunnel[1] to 192.0.2.2
                [CHD] CHILD_SA net{2} established with SPIs c1a2b3c4_i c5d6e7f8_o
                initiate completed successfully
                """));
        // without --ike, the connection is the one that has the child (swanctl's look-up)
        assertThat(node.requests).containsExactly(InitiateRequest.newBuilder().setConnection("tunnel").setChild("net")
                .setTimeoutMillis(20_000).build());
    }

    @Test
    void initiateThatFailsWithThePeerIsAFailureNotAnUnreachableNode() {
        node.streams.put("Initiate", out -> () -> out.onNext(log(LogSubsystem.LOG_SUBSYSTEM_IKE,
                "sending retransmit 5 of request message ID 0, seq 1")));
        node.answers.put("Initiate", Status.UNAVAILABLE.withDescription("peer 192.0.2.2 did not answer IKE_SA_INIT"));

        FakeNode.Run r = node.run("-i", "--ike", "backup", "--child", "lan", "--level", "debug", "--json");

        assertThat(r.status()).isEqualTo(Failures.FAILED);
        assertThat(r.oneErrorLine()).isEqualTo("keelctl: initiate failed: peer 192.0.2.2 did not answer IKE_SA_INIT");
        LogLine line = parse(r.out(), LogLine.getDefaultInstance());
        assertThat(line.getMessage()).startsWith("sending retransmit 5");
        assertThat(((InitiateRequest) node.requests.getFirst()).getLevel()).isEqualTo(LogLevel.LOG_LEVEL_DEBUG);
    }

    @Test
    void initiateOfAChildNoConnectionHasFailsAndOfAChildSeveralHaveIsAUsageError() throws Exception {
        FakeNode.Run none = node.run("--initiate", "--child", "nope");
        assertThat(none.status()).isEqualTo(Failures.FAILED);
        assertThat(none.oneErrorLine()).contains("no connection has a child named 'nope'").contains("--list-conns");

        Path twice = dir.resolve("twice.yaml");
        Files.writeString(twice, FakeNode.CONFIG.replace("lan:", "net:"));
        assertThat(node.run("--load-all", "--file", twice.toString()).status()).isZero();
        FakeNode.Run both = node.run("--initiate", "--child", "net");
        assertThat(both.status()).isEqualTo(Failures.USAGE);
        assertThat(both.oneErrorLine()).contains("connections tunnel, backup all have a child named 'net'")
                .contains("--ike NAME");
        assertThat(node.requests).as("no Initiate sent").isEmpty();
    }

    @Test
    void terminateAndRekeySendOneSelectorAndPrintWhatChanged() {
        node.answers.put("Terminate", TerminateResponse.newBuilder().addIkeSas(1).addChildSas(2).build());
        node.answers.put("Rekey", RekeyResponse.newBuilder().addIkeSas(3).build());

        FakeNode.Run t = node.run("--terminate", "--ike", "tunnel", "--timeout", "5");
        FakeNode.Run rk = node.run("--rekey", "--ike-id", "1", "--reauth");
        FakeNode.Run rc = node.run("-R", "--child-id", "2");

        assertThat(t.status()).as(t.err()).isZero();
        assertThat(t.out()).isEqualTo(lines("""
                terminated IKE_SA #1
                terminated CHILD_SA #2
                terminate completed successfully
                """));
        assertThat(rk.out()).isEqualTo(lines("""
                new IKE_SA #3
                reauthentication completed successfully
                """));
        assertThat(rc.status()).isZero();
        assertThat(node.requests).containsExactly(
                TerminateRequest.newBuilder().setIke("tunnel").setTimeoutMillis(5_000).build(),
                RekeyRequest.newBuilder().setIkeUniqueId(1).setReauth(true).build(),
                RekeyRequest.newBuilder().setChildUniqueId(2).build());
    }

    @Test
    void notFoundIsExit1WithTheNodesReasonAndWhereToLook() {
        node.answers.put("Terminate", Status.NOT_FOUND.withDescription("no IKE SA of connection 'tunnel'"));

        FakeNode.Run r = node.run("--terminate", "--ike", "tunnel");

        assertThat(r.status()).isEqualTo(Failures.FAILED);
        assertThat(r.oneErrorLine()).isEqualTo("keelctl: not found: no IKE SA of connection 'tunnel';"
                + " keelctl --list-sas shows the SAs there are");
    }

    @Test
    void permissionDeniedIsExit4NamingTheRoleTheCommandNeeds() {
        // what RoleAuthorization answers a reader (GatewayAdminRoles)
        node.answers.put("Terminate", Status.PERMISSION_DENIED.withDescription("client 'CN=monitor,O=Keel Test' may"
                + " not call keel.v1.IkeService/Terminate (needs role ADMIN or OPERATOR)"));

        FakeNode.Run r = node.run("--terminate", "--child-id", "2");

        assertThat(r.status()).isEqualTo(Failures.DENIED);
        assertThat(r.oneErrorLine()).isEqualTo("keelctl: permission denied: the client certificate CN=monitor,O=Keel Test"
                + " may not call keel.v1.IkeService/Terminate (needs role ADMIN or OPERATOR); --terminate needs the"
                + " operator role: use a certificate the node grants it (gateway.admin operators or admins)");
    }

    @Test
    void aCallTheNodeDoesNotServeIsExit1SayingSo() {
        node.answers.put("Stats", Status.UNIMPLEMENTED.withDescription("Method not found: keel.v1.IkeService/Stats"));
        // behind mutual TLS, RoleAuthorization refuses a method missing from the node's table
        node.answers.put("ListCerts", Status.PERMISSION_DENIED.withDescription("client 'CN=ops' may not call"
                + " keel.v1.IkeService/ListCerts (not a method of this API)"));

        FakeNode.Run stats = node.run("--stats");
        FakeNode.Run certs = node.run("--list-certs");

        assertThat(stats.status()).isEqualTo(Failures.FAILED);
        assertThat(stats.oneErrorLine()).isEqualTo("keelctl: the node at unix:/run/keel/admin.sock does not serve"
                + " --stats (Method not found: keel.v1.IkeService/Stats): is it a Keel node of this version, and the"
                + " service that has it?");
        assertThat(certs.status()).isEqualTo(Failures.FAILED);
        assertThat(certs.oneErrorLine()).contains("does not serve --list-certs");
    }

    @Test
    void anUnavailableNodeIsExit3() {
        node.answers.put("Stats", Status.UNAVAILABLE.withDescription("io exception"));

        FakeNode.Run r = node.run("--stats", "--uri", "127.0.0.1:7441", "--plaintext");

        assertThat(r.status()).isEqualTo(Failures.UNREACHABLE);
        assertThat(r.oneErrorLine()).isEqualTo("keelctl: cannot reach the node at 127.0.0.1:7441: io exception;"
                + " is the node running, with its admin API on that address (gateway.admin listen)?");
    }

    @Test
    void loadAllSendsTheFileAndPrintsTheProblemsOfARefusedOneALine() throws Exception {
        Path good = dir.resolve("good.yaml");
        Files.writeString(good, FakeNode.CONFIG);
        FakeNode.Run ok = node.run("--load-all", "--file", good.toString());
        assertThat(ok.status()).as(ok.err()).isZero();
        assertThat(ok.out()).isEqualTo(lines("successfully loaded 2 connections and 2 policies, revision 2\n"));

        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, FakeNode.CONFIG.replace("remote_ts: 10.3.0.0/24", "remote_ts: 10.3.0.0/33")
                .replace("dpd_delay: 30s", "dpd_delay: soon"));
        FakeNode.Run refused = node.run("--load-conns", "--file", bad.toString());
        assertThat(refused.status()).isEqualTo(Failures.FAILED);
        List<String> lines = refused.err().lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.getFirst()).isEqualTo("keelctl: the node refused the configuration, nothing changed:"
                + " invalid configuration: 2 problems");
        assertThat(lines.get(1)).startsWith(bad + ":").contains("connections.tunnel.dpd_delay");
        assertThat(lines.get(2)).startsWith(bad + ":").contains("connections.backup.children.lan.remote_ts");
        assertThat(refused.err()).doesNotContain("\tat ");
    }

    @Test
    void aRemotePathOutsideTheNodesDirectoryIsRefusedWithTheNodesWords() {
        FakeNode.Run r = node.run("-q", "--remote-path", "/etc/shadow");

        assertThat(r.status()).isEqualTo(Failures.DENIED);
        assertThat(r.oneErrorLine()).isEqualTo("keelctl: permission denied: source.path '/etc/shadow': this service has"
                + " no configuration directory to load from; send the YAML as source.yaml_text");
    }

    @Test
    void logFollowsTheStreamAtTheLevelAndSubsystemsAsked() throws Exception {
        node.streams.put("WatchLog", out -> () -> {
            out.onNext(log(LogSubsystem.LOG_SUBSYSTEM_IKE, "IKE_SA tunnel[1] established"));
            out.onNext(log(LogSubsystem.LOG_SUBSYSTEM_CFG, "loaded configuration revision 3"));
        });

        FakeNode.Run text = node.run("--log", "--level", "DEBUG", "--subsystem", "ike,cfg");
        FakeNode.Run json = node.run("-T", "--json");

        assertThat(text.status()).as(text.err()).isZero();
        assertThat(text.out()).isEqualTo(lines("""
                Jan 02 10:00:00 [IKE] IKE_SA tunnel[1] established
                Jan 02 10:00:00 [CFG] loaded configuration revision 3
                """));
        assertThat(json.out().lines().map(l -> parse(l, LogLine.getDefaultInstance()).getMessage()).toList())
                .containsExactly("IKE_SA tunnel[1] established", "loaded configuration revision 3");
        assertThat(node.requests).containsExactly(WatchLogRequest.newBuilder().setLevel(LogLevel.LOG_LEVEL_DEBUG)
                .addSubsystems(LogSubsystem.LOG_SUBSYSTEM_IKE).addSubsystems(LogSubsystem.LOG_SUBSYSTEM_CFG).build(),
                WatchLogRequest.getDefaultInstance());
    }

    @Test
    void loglevelSetsTheLevelsAndPrintsThemAllInTheSameForm() {
        node.answers.put("SetLogLevels", SetLogLevelsResponse.newBuilder()
                .addLevels(level(LogSubsystem.LOG_SUBSYSTEM_IKE, LogLevel.LOG_LEVEL_DEBUG))
                .addLevels(level(LogSubsystem.LOG_SUBSYSTEM_CFG, LogLevel.LOG_LEVEL_INFO))
                .addLevels(level(LogSubsystem.LOG_SUBSYSTEM_KNL, LogLevel.LOG_LEVEL_TRACE)).build());

        FakeNode.Run r = node.run("--loglevel", "ike=debug", "knl=TRACE");

        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(lines("ike=debug\ncfg=info\nknl=trace\n"));
        assertThat(node.requests).containsExactly(SetLogLevelsRequest.newBuilder()
                .addLevels(level(LogSubsystem.LOG_SUBSYSTEM_IKE, LogLevel.LOG_LEVEL_DEBUG))
                .addLevels(level(LogSubsystem.LOG_SUBSYSTEM_KNL, LogLevel.LOG_LEVEL_TRACE)).build());
    }

    @Test
    void usageErrorsAreExit2InOneLineAndReachNoNode() {
        for (String[] args : List.of(
                new String[] {},
                new String[] {"--list-sas", "--list-conns"},
                new String[] {"--list-conns", "--ike", "tunnel"},
                new String[] {"--terminate"},
                new String[] {"--terminate", "--ike", "tunnel", "--child", "net"},
                new String[] {"--rekey", "--child", "net", "--reauth"},
                new String[] {"--initiate"},
                new String[] {"--load-all"},
                new String[] {"--load-all", "--file", dir.resolve("missing.yaml").toString()},
                new String[] {"--log", "--level", "loud"},
                new String[] {"--loglevel", "ike"},
                new String[] {"--loglevel", "dns=debug"},
                new String[] {"--terminate", "--ike-id", "0"},
                new String[] {"--initiate", "--child", "net", "--timeout", "0"},
                new String[] {"--terminate", "--ike", "tunnel", "--timeout", "5000000"},
                new String[] {"--stats", "--uri", "127.0.0.1:7441"},
                new String[] {"--stats", "--uri", "192.0.2.9:7441", "--plaintext"},
                new String[] {"--stats", "--uri", "unix:/run/keel/gw-a.sock", "--cert", "c.pem"},
                new String[] {"--stats", "--uri", "gw-a"},
                new String[] {"--nonsense"})) {
            FakeNode.Run r = node.run(args);
            assertThat(r.status()).as(String.join(" ", args) + ": " + r.err()).isEqualTo(Failures.USAGE);
            assertThat(r.err().lines().filter(l -> l.startsWith("keelctl: ")).count()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).as(String.join(" ", args)).doesNotContain("\tat ");
        }
        assertThat(node.requests).as("nothing reached the node").isEmpty();
    }

    @Test
    void usageErrorsSayWhatToGive() {
        assertThat(node.run("--terminate").oneErrorLine()).contains("--terminate takes one of --ike NAME, --ike-id N,"
                + " --child NAME, --child-id N");
        assertThat(node.run("--list-conns", "--ike", "x").oneErrorLine()).contains("--ike does not go with --list-conns");
        assertThat(node.run("--rekey", "--child", "net", "--reauth").oneErrorLine())
                .contains("--reauth reauthenticates IKE SAs: give --ike NAME or --ike-id N");
        assertThat(node.run("--stats", "--uri", "127.0.0.1:7441").oneErrorLine())
                .contains("needs mutual TLS: give --cert, --key and --cacert");
        assertThat(node.run("--stats", "--uri", "192.0.2.9:7441", "--plaintext").oneErrorLine())
                .contains("plaintext gRPC only to a loopback address");
        assertThat(node.run("--log", "--subsystem", "dns").oneErrorLine())
                .contains("'dns' is not a log subsystem: ike, cfg, chd, net, esp, sad, knl");
    }

    @Test
    void theEnvironmentNamesTheNodeAndTheTlsFiles() throws Exception {
        Path pem = Files.writeString(dir.resolve("x.pem"), "not used in process");
        node.answers.put("Stats", StatsResponse.getDefaultInstance());

        FakeNode.Run r = node.run(Map.of("KEEL_ADMIN_URI", "gw-a.example.net:7441", "KEEL_TLS_CERT", pem.toString(),
                "KEEL_TLS_KEY", pem.toString(), "KEEL_TLS_CA", pem.toString()), "--stats");

        assertThat(r.status()).as(r.err()).isZero();
        AdminTarget t = node.targets.getFirst();
        assertThat(t.host()).isEqualTo("gw-a.example.net");
        assertThat(t.port()).isEqualTo(7441);
        assertThat(t.tls()).isEqualTo(new AdminTarget.Tls(pem, pem, pem));
    }

    @Test
    void completionIsABashScriptForEveryCommand() {
        FakeNode.Run r = node.run("--completion");

        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("complete -F").contains("--list-sas").contains("--terminate").contains("--loglevel")
                .contains("debug");
        assertThat(node.targets).as("no node asked").isEmpty();
    }

    private static LogLine log(LogSubsystem subsystem, String message) {
        return LogLine.newBuilder().setTimeMillis(NOW.toEpochMilli()).setSubsystem(subsystem)
                .setLevel(LogLevel.LOG_LEVEL_INFO).setMessage(message).build();
    }

    private static SubsystemLevel level(LogSubsystem s, LogLevel l) {
        return SubsystemLevel.newBuilder().setSubsystem(s).setLevel(l).build();
    }

    @SuppressWarnings("unchecked")
    private static <M extends Message> M parse(String json, M prototype) {
        Message.Builder b = prototype.newBuilderForType();
        try {
            JsonFormat.parser().merge(json, b);
        } catch (Exception e) {
            throw new AssertionError("not JSON of " + b.getDescriptorForType().getFullName() + ": " + json, e);
        }
        return (M) b.build();
    }
}
