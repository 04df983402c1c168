package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSyntaxException;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.service.ChildSaRecords;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.IpsecProtocol;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * AH CHILD SAs (RFC 4302) negotiated between two Keel engines: proposals with protocol ID 2 in
 * IKE_AUTH and CREATE_CHILD_SA, integrity-only KEYMAT (RFC 7296 §2.17), rekey (REKEY_SA with
 * protocol AH) and delete (Delete payload with protocol AH), and the SAD record of protocol AH.
 */
class IkeAhChildTest {

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "sha256, TUNNEL, HMAC_SHA2_256_128",
        "sha384-modp2048, TRANSPORT, HMAC_SHA2_384_192",
        "sha512-esn, TUNNEL, HMAC_SHA2_512_256",
        "sha1, TUNNEL, HMAC_SHA1_96",
    })
    void ahChildComesUpRekeysAndIsDeletedAsAh(String ah, IpsecMode mode, IntegrityTransform integrity) throws Exception {
        String ike = "aes256gcm16-prfsha256-x25519";
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(ike, ike, "aes256gcm16", "aes256gcm16", "k3y-k3y-k3y", "k3y-k3y-k3y",
                    "10.2.0.0/16", "10.2.0.0/16");
            peers.reshape(c -> ah(c, ah, mode), c -> ah(c, ah, mode));
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(30, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(30), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            ChildSa a = peers.aliceEvents.children.peek();
            ChildSa b = peers.bobEvents.children.peek();
            assertThat(a.proposal().protocol()).isEqualTo(Protocol.AH);
            assertThat(b.proposal().protocol()).isEqualTo(Protocol.AH);
            assertThat(a.proposal().integrityAlgorithms()).containsExactly(integrity);
            assertThat(a.mode()).isEqualTo(mode);
            // RFC 7296 §2.17: AH takes integrity keys only.
            assertThat(a.outboundEncryptionKey()).isEmpty();
            assertThat(a.inboundEncryptionKey()).isEmpty();
            assertThat(a.outboundIntegrityKey()).hasSize(integrity.keyLength()).isEqualTo(b.inboundIntegrityKey())
                    .isNotEqualTo(a.inboundIntegrityKey());
            assertThat(a.inboundIntegrityKey()).isEqualTo(b.outboundIntegrityKey());
            assertThat(a.esn()).isEqualTo(ah.contains("esn"));

            List<InstallChildSaRequest> records = ChildSaRecords.requests(sa, a,
                    ChildSaRecords.Ids.of("node-a", a.inboundSpi()), new InetSocketAddress("192.0.2.1", 4500), "node-a");
            for (InstallChildSaRequest r : records) {
                assertThat(r.getChildSa().getProtocol()).isEqualTo(IpsecProtocol.IPSEC_PROTOCOL_AH);
                assertThat(r.getChildSa().getEncryptionTransform()).isZero();
                assertThat(r.getChildSa().getEncryptionKeyLength()).isZero();
                assertThat(r.getChildSa().getIntegrityTransform()).isEqualTo(integrity.id());
                assertThat(r.getChildSa().getIntegrityKeyLength()).isEqualTo(integrity.keyLength());
            }

            byte[] oldKey = a.outboundIntegrityKey().clone();
            peers.alice.rekeyChild(sa, a.inboundSpi());
            Eventually.until(Duration.ofSeconds(30), "the old AH pair deleted on both sides",
                    () -> peers.aliceEvents.childrenDeleted.size() == 1 && peers.bobEvents.childrenDeleted.size() == 1);
            Eventually.until(Duration.ofSeconds(30), "a new AH pair", () -> peers.aliceEvents.children.size() == 2
                    && peers.bobEvents.children.size() == 2);
            ChildSa a2 = List.copyOf(peers.aliceEvents.children).getLast();
            ChildSa b2 = List.copyOf(peers.bobEvents.children).getLast();
            assertThat(a2.proposal().protocol()).isEqualTo(Protocol.AH);
            assertThat(a2.outboundIntegrityKey()).isEqualTo(b2.inboundIntegrityKey()).isNotEqualTo(oldKey);
            assertThat(peers.aliceEvents.failures).isEmpty();
            assertThat(peers.bobEvents.failures).isEmpty();
        }
    }

    /** {@code c} with its children protected by AH proposals {@code proposals} in {@code mode}. */
    private static IkeConnection ah(IkeConnection c, String proposals, IpsecMode mode) {
        List<Proposal> ah;
        try {
            ah = Proposal.parseList(Protocol.AH, proposals);
        } catch (ProposalSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
        return new IkeConnection(c.name(), c.localAddrs(), c.remoteAddrs(), c.remotePort(), c.localId(), c.remoteId(),
                c.auth(), c.proposals(), c.encap(), c.dpdDelay(), c.children().stream()
                        .map(ch -> new ChildConnection(ch.name(), ch.localTs(), ch.remoteTs(), ah, mode, ch.rekeyTime(),
                                ch.lifeTime(), ch.startAction()))
                        .toList(), c.lifetime());
    }
}
