package dev.keel.ike.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.keel.core.net.IpAddress;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelectors;
import dev.keel.ike.crypto.ChildSaKeys;
import dev.keel.ike.crypto.IkeSaKeys;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSaSnapshot;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.InstallIkeSaRequest;
import dev.keel.proto.v1.WrappedIkeKeys;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An IKE SA snapshot written as the SAD stores it and read back by the node that takes it over
 * (docs/ha.md, "IKE SA failover"): everything the engine needs survives, for AEAD, normal-mode
 * and fixed-key suites; the keys travel only in the first write; a record without keys is refused.
 */
class IkeSaRecordsTest {

    private static final IpAddress LOCAL = IpAddress.parse("192.0.2.1");
    private static final int KEK_ID = 0x1234abcd;

    /** sad-service's wrap, as the identity here: the test looks at what the IKE side makes of the record. */
    private static final IkeSaRecords.KeyUnwrap IDENTITY = (wrapped, kek) -> {
        assertThat(kek).isEqualTo(KEK_ID);
        return wrapped.clone();
    };

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }

    private static ChildSa child(String esp, int in, int out, boolean initiator) throws Exception {
        return new ChildSa("net", initiator, in, out, Proposal.parse(Protocol.ESP, esp).effective(), IpsecMode.TUNNEL,
                TrafficSelectors.parseList("10.1.0.0/16"), TrafficSelectors.parseList("10.2.0.0/24[tcp/443]"), true,
                ChildSaKeys.none());
    }

    /** The two records the installer stores for {@code c} (ChildSaRecords' fields). */
    private static ChildSaRecord[] records(ChildSa c, int keyLength, int integrity) {
        ChildSaRecord.Builder common = ChildSaRecord.newBuilder().setChild(c.name())
                .setMode(dev.keel.proto.v1.IpsecMode.IPSEC_MODE_TUNNEL)
                .setEncryptionTransform(c.proposal().encryptionAlgorithms().getFirst().transform().id())
                .setEncryptionKeyLength(keyLength).setIntegrityTransform(integrity)
                .setPeer(CoreMapping.endpoint(new InetSocketAddress("198.51.100.7", 4500).getAddress(), 4500));
        c.localTs().forEach(ts -> common.addLocalTs(CoreMapping.selector(ts)));
        c.remoteTs().forEach(ts -> common.addRemoteTs(CoreMapping.selector(ts)));
        return new ChildSaRecord[] {
            common.clone().setId("in").setSpi(c.inboundSpi()).setDirection(Direction.DIRECTION_INBOUND).build(),
            common.clone().setId("out").setSpi(c.outboundSpi()).setDirection(Direction.DIRECTION_OUTBOUND).build()};
    }

    private static IkeSaSnapshot snapshot(String ike, List<IkeSaSnapshot.Child> children, IkeSaKeys keys)
            throws Exception {
        return new IkeSaSnapshot("to-b", false, 0x1122334455667788L, 0x99aabbccddeeff00L,
                new InetSocketAddress("198.51.100.7", 61000), 4500, true, false,
                Proposal.parse(Protocol.IKE, ike).effective(), keys, 7, 0xfffffffeL, true, 0x0101, 0x2020, 0xfffffffdL,
                new byte[] {1, 2, 3}, true, true, children, false, true, 0x0aL, 0x0bL, 0);
    }

    /** The record as the SAD hands it to the next owner: wrapped keys (here the plain ones) under KEK_ID. */
    private static IkeSaRecord stored(InstallIkeSaRequest req) {
        var k = req.getKeys();
        return req.getIkeSa().toBuilder().setKeys(WrappedIkeKeys.newBuilder().setSkD(k.getSkD()).setSkAi(k.getSkAi())
                .setSkAr(k.getSkAr()).setSkEi(k.getSkEi()).setSkEr(k.getSkEr()).setSkPi(k.getSkPi())
                .setSkPr(k.getSkPr()).setKekId(KEK_ID)).build();
    }

    @Test
    void whatTheOwnerWritesIsWhatTheNextOwnerGetsBack() throws Exception {
        for (String[] suite : new String[][] {
            {"aes256gcm16-prfsha256-x25519", "aes256gcm16", "36", "0"},
            {"aes128-sha256-modp2048", "aes128-sha256", "16", "12"},
            {"chacha20poly1305-prfsha384-ecp256", "chacha20poly1305", "36", "0"}}) {
            ChildSa first = child(suite[1], 0x0101_0101, 0x0202_0202, true);
            ChildSa second = child(suite[1], 0x0303_0303, 0x0404_0404, false);
            List<IkeSaSnapshot.Child> kids = List.of(new IkeSaSnapshot.Child(first, true, 1_000L, 2_000L, 0),
                    new IkeSaSnapshot.Child(second, false, 0, 5_000L, 0));
            byte[][] secrets = {random(32), random(0), random(0), random(36), random(36), random(32), random(32)};
            IkeSaKeys keys = IkeSaKeys.of(secrets[0], secrets[1], secrets[2], secrets[3], secrets[4], secrets[5],
                    secrets[6]);
            IkeSaSnapshot s = snapshot(suite[0], kids, keys);

            InstallIkeSaRequest req = IkeSaRecords.request(s, LOCAL, "", "", true,
                    spi -> ChildSaRecords.Ids.of("gw-a", spi));
            IkeSaRecord r = stored(req);
            assertThat(r.getId()).isEqualTo("ike-1122334455667788-99aabbccddeeff00");
            assertThat(r.getRekeyedFrom()).isEqualTo(IkeSaRecords.id(0x0a, 0x0b));
            assertThat(r.getChildren(0).getInboundSaId()).isEqualTo(ChildSaRecords.Ids.of("gw-a", 0x0101_0101).inbound());
            List<ChildSaRecord[]> childRecords = new ArrayList<>();
            for (ChildSa c : List.of(first, second)) {
                childRecords.add(records(c, Integer.parseInt(suite[2]), Integer.parseInt(suite[3])));
            }

            IkeSaSnapshot back = IkeSaRecords.snapshot(r, childRecords, IDENTITY);
            assertThat(back.connection()).isEqualTo("to-b");
            assertThat(back.originalInitiator()).isFalse();
            assertThat(back.spiI()).isEqualTo(s.spiI());
            assertThat(back.spiR()).isEqualTo(s.spiR());
            assertThat(back.localSpi()).isEqualTo(s.spiR());
            assertThat(back.remote()).isEqualTo(s.remote());
            assertThat(back.localPort()).isEqualTo(4500);
            assertThat(back.natHere()).isTrue();
            assertThat(back.natThere()).isFalse();
            assertThat(back.proposal()).as(suite[0]).isEqualTo(s.proposal());
            assertThat(back.keys().skD()).isEqualTo(secrets[0]);
            assertThat(back.keys().skEr()).isEqualTo(secrets[4]);
            assertThat(back.keys().skPr()).isEqualTo(secrets[6]);
            assertThat(back.nextRequestId()).isEqualTo(7);
            assertThat(back.expectedRequestId()).as("unsigned 32-bit").isEqualTo(0xfffffffeL);
            assertThat(back.requestInFlight()).isTrue();
            assertThat(back.inFlightRekeyedChild()).isEqualTo(0x0101);
            assertThat(back.inFlightNewChild()).isEqualTo(0x2020);
            assertThat(back.lastResponseId()).isEqualTo(0xfffffffdL);
            assertThat(back.lastResponse()).containsExactly(1, 2, 3);
            assertThat(back.peerMessageIdSync()).isTrue();
            assertThat(back.mobike()).isTrue();
            assertThat(back.replaced()).isFalse();
            assertThat(back.deleting()).isTrue();
            assertThat(back.predecessorSpiI()).isEqualTo(0x0a);
            assertThat(back.predecessorSpiR()).isEqualTo(0x0b);
            assertThat(back.children()).hasSize(2);
            for (int i = 0; i < 2; i++) {
                IkeSaSnapshot.Child want = kids.get(i);
                IkeSaSnapshot.Child got = back.children().get(i);
                assertThat(got.replaced()).isEqualTo(want.replaced());
                assertThat(got.rekeyAtMillis()).isEqualTo(want.rekeyAtMillis());
                assertThat(got.expireAtMillis()).isEqualTo(want.expireAtMillis());
                ChildSa g = got.child();
                ChildSa w = want.child();
                assertThat(g.name()).isEqualTo(w.name());
                assertThat(g.initiator()).isEqualTo(w.initiator());
                assertThat(g.inboundSpi()).isEqualTo(w.inboundSpi());
                assertThat(g.outboundSpi()).isEqualTo(w.outboundSpi());
                assertThat(g.proposal()).as(suite[1]).isEqualTo(w.proposal());
                assertThat(g.mode()).isEqualTo(w.mode());
                assertThat(g.localTs()).isEqualTo(w.localTs());
                assertThat(g.remoteTs()).isEqualTo(w.remoteTs());
                assertThat(g.encap()).isTrue();
            }

            assertThat(IkeSaRecords.request(s, LOCAL, "", "", false, spi -> ChildSaRecords.Ids.of("gw-a", spi)).hasKeys())
                    .as("later writes leave the keys to the SAD").isFalse();
        }
    }

    @Test
    void aChildWhoseRecordsAreGoneIsLeftOutAndARecordWithoutKeysIsRefused() throws Exception {
        ChildSa c = child("aes256gcm16", 0x0505_0505, 0x0606_0606, true);
        IkeSaSnapshot s = snapshot("aes256gcm16-prfsha256-x25519", List.of(new IkeSaSnapshot.Child(c, false, 0, 0, 0)),
                IkeSaKeys.of(random(32), random(0), random(0), random(36), random(36), random(32), random(32)));
        InstallIkeSaRequest req = IkeSaRecords.request(s, LOCAL, "", "", true, spi -> ChildSaRecords.Ids.of("gw-a", spi));
        List<ChildSaRecord[]> none = new ArrayList<>();
        none.add(new ChildSaRecord[] {records(c, 36, 0)[0], null});
        assertThat(IkeSaRecords.snapshot(stored(req), none, IDENTITY).children()).isEmpty();
        assertThatThrownBy(() -> IkeSaRecords.snapshot(req.getIkeSa(), none, IDENTITY))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no keys");
        assertThat(req.getIkeSa().getLastResponse()).isEqualTo(ByteString.copyFrom(new byte[] {1, 2, 3}));
    }
}
