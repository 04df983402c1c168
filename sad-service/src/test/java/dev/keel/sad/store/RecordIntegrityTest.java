package dev.keel.sad.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.TrafficSelector;
import dev.keel.proto.v1.UpdateChildSaRequest;
import dev.keel.proto.v1.WrappedChildKeys;
import dev.keel.sad.SadException.Kind;
import dev.keel.sad.keys.KeyEncryptionKey;
import dev.keel.sad.keys.RecordMac;
import dev.keel.sad.keys.RecordMac.Scope;
import dev.keel.sad.keys.TamperedRecordException;
import java.util.AbstractMap.SimpleEntry;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * The integrity tags of stored records ({@link RecordMac}) and every processor, merge rule and
 * reader that must refuse a record whose tag fails: nothing of it is used and nothing is written.
 */
class RecordIntegrityTest {

    private static ChildSaRecord outbound(String id) {
        return ChildSaRecord.newBuilder().setId(id).setSpi(0x1234).setDirection(Direction.DIRECTION_OUTBOUND)
                .setEsn(true).setOwnerNodeId("n1").setOwnerMember("u1").setOwnerEpoch(1).setGeneration(1)
                .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).setLeaseHighWater(5_000)
                .setPeer(Endpoint.newBuilder().setAddress(ByteString.copyFrom(new byte[] {(byte) 198, 51, 100, 7})))
                .addRemoteTs(TrafficSelector.newBuilder().setStartAddress(ByteString.copyFrom(new byte[] {10, 2, 0, 0}))
                        .setEndAddress(ByteString.copyFrom(new byte[] {10, 2, 0, (byte) 255})))
                .setKeys(WrappedChildKeys.newBuilder().setEncryption(ByteString.copyFrom(new byte[40]))
                        .setKekId(TestTags.MAC.kekId()))
                .build();
    }

    /** The stored record rewritten by someone without the KEK: a field changed, the old tag kept. */
    private static byte[] rewritten(byte[] stored, java.util.function.UnaryOperator<ChildSaRecord.Builder> change) {
        return change.apply(Records.parseChild(stored).toBuilder()).build().toByteArray();
    }

    @Test
    void everyChangedByteMovedRecordOrOtherMapIsRefused() {
        byte[] stored = TestTags.sealed(outbound("sa-1"));
        assertThat(RecordMac.verify(Scope.CHILD_SA, "sa-1", stored)).isSameAs(TestTags.MAC);
        long before = RecordMac.refused();
        for (int i = 0; i < stored.length; i++) {
            for (int bit : new int[] {0x01, 0x80}) {
                byte[] b = stored.clone();
                b[i] ^= (byte) bit;
                assertThat(RecordMac.isValid(Scope.CHILD_SA, "sa-1", b)).as("byte %d bit %x", i, bit).isFalse();
            }
        }
        assertThat(RecordMac.isValid(Scope.CHILD_SA, "sa-1", Arrays.copyOf(stored, stored.length - 1))).isFalse();
        assertThat(RecordMac.isValid(Scope.CHILD_SA, "sa-1", Arrays.copyOf(stored, stored.length + 1))).isFalse();
        assertThat(RecordMac.isValid(Scope.CHILD_SA, "sa-2", stored)).as("under another key").isFalse();
        assertThat(RecordMac.isValid(Scope.IKE_SA, "sa-1", stored)).as("in the IKE SA map").isFalse();
        assertThat(RecordMac.refused() - before).as("each refusal counted").isEqualTo(2L * stored.length + 4);
        assertThatThrownBy(() -> RecordMac.verify(Scope.CHILD_SA, "sa-1", outbound("sa-1").toByteArray()))
                .isInstanceOf(TamperedRecordException.class)
                .hasMessage("stored record of child SA 'sa-1' refused: it carries no integrity tag");
        assertThatThrownBy(() -> RecordMac.verify(Scope.CHILD_SA, "sa-1",
                rewritten(stored, b -> b.setLeaseHighWater(1))))
                .hasMessage("stored record of child SA 'sa-1' refused: its integrity tag does not match"
                        + " (changed outside sad-service, or moved from another key)");
    }

    @Test
    void aTagUnderAKekThisProcessDoesNotHoldIsRefusedAndAClosedKekIsForgotten() {
        byte[] k = new byte[32];
        new java.security.SecureRandom().nextBytes(k);
        KeyEncryptionKey other = KeyEncryptionKey.of(k);
        RecordMac mac = RecordMac.open(other);
        RecordMac again = RecordMac.open(other); // a second member of the same JVM
        byte[] stored = Records.sealed(mac, "sa-1", outbound("sa-1"));
        assertThat(RecordMac.isValid(Scope.CHILD_SA, "sa-1", stored)).isTrue();
        mac.close();
        assertThat(RecordMac.isValid(Scope.CHILD_SA, "sa-1", stored)).as("still open for the other member").isTrue();
        again.close();
        assertThatThrownBy(() -> RecordMac.verify(Scope.CHILD_SA, "sa-1", stored))
                .hasMessageContaining(String.format("tagged under KEK %08x, which this node does not hold", other.id()));
    }

    /** RFC 5869 §2.2-2.3 with HMAC-SHA256, no salt (HashLen zeros), by hand. */
    private static byte[] hkdf(byte[] ikm, byte[] info, int length) throws Exception {
        Mac h = Mac.getInstance("HmacSHA256");
        h.init(new SecretKeySpec(new byte[32], "HmacSHA256"));
        byte[] prk = h.doFinal(ikm);
        h.init(new SecretKeySpec(prk, "HmacSHA256"));
        byte[] out = new byte[length];
        byte[] t = new byte[0];
        for (int i = 1, at = 0; at < length; i++) {
            h.update(t);
            h.update(info);
            h.update((byte) i);
            t = h.doFinal();
            System.arraycopy(t, 0, out, at, Math.min(t.length, length - at));
            at += t.length;
        }
        return out;
    }

    @Test
    void theTagKeyIsHkdfOfTheKekUnderItsOwnLabelNotTheKek() throws Exception {
        byte[] k = HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        KeyEncryptionKey kek = KeyEncryptionKey.of(k);
        byte[] tagKey = kek.deriveKey("keel-sad record tag v1", "HmacSHA256", 32).getEncoded();
        assertThat(tagKey).isEqualTo(hkdf(k, "keel-sad record tag v1".getBytes(), 32)).isNotEqualTo(k);
        assertThat(kek.deriveBytes("keel-sad cluster name v1", 8))
                .isEqualTo(hkdf(k, "keel-sad cluster name v1".getBytes(), 8))
                .as("one label, one key").isNotEqualTo(Arrays.copyOf(tagKey, 8));
    }

    /** Each processor that changes an existing record, with a call that would succeed on an intact one. */
    private static final List<Supplier<RecordProcessor>> CHANGES = List.of(
            () -> new LeaseProcessor("n1", 100),
            () -> new UsageProcessor("n1", 10, 1, 0),
            () -> new UpdateProcessor(UpdateChildSaRequest.newBuilder().setId("sa-1")
                    .setPeer(Endpoint.newBuilder().setAddress(ByteString.copyFrom(new byte[] {1, 2, 3, 4}))).build(), 7),
            () -> new ClaimProcessor("n2", "u2", "n1", Set.of("u1", "u2"), 7));

    @Test
    void everyProcessorRefusesARewrittenRecordAndWritesNothing() {
        for (Supplier<RecordProcessor> make : CHANGES) {
            Map.Entry<String, byte[]> intact = TestTags.entry(outbound("sa-1"));
            RecordProcessor ok = make.get();
            assertThat(ok.process(intact).refusal()).as(ok.getClass().getSimpleName()).isNull();
            assertThat(RecordMac.isValid(Scope.CHILD_SA, "sa-1", intact.getValue())).as("what it wrote is tagged").isTrue();

            byte[] bad = rewritten(TestTags.sealed(outbound("sa-1")), b -> b.setLeaseHighWater(1));
            Map.Entry<String, byte[]> e = new SimpleEntry<>("sa-1", bad);
            RecordProcessor p = make.get();
            OpResult r = p.process(e);
            assertThat(r.refusal()).as(p.getClass().getSimpleName()).isEqualTo(Kind.DATA_LOSS);
            assertThat(r.message()).startsWith("stored record of child SA 'sa-1' refused");
            assertThat(e.getValue()).isSameAs(bad);
            assertThat(p.getBackupProcessor()).isNull();
        }
        ChildSaRecord in = outbound("sa-1").toBuilder().setDirection(Direction.DIRECTION_INBOUND).build();
        Map.Entry<String, byte[]> e = new SimpleEntry<>("sa-1", rewritten(TestTags.sealed(in), b -> b.setReplayFloor(5)));
        assertThat(new CheckpointProcessor("n1", 70, 64).process(e).refusal()).isEqualTo(Kind.DATA_LOSS);
    }

    @Test
    void aDeleteReplacesARewrittenRecordByABareTombstone() {
        Map.Entry<String, byte[]> e = new SimpleEntry<>("sa-1",
                rewritten(TestTags.sealed(outbound("sa-1")), b -> b.setConnection("evil")));
        OpResult r = new DeleteProcessor(9_000, TestTags.MAC.kekId()).process(e);
        assertThat(r.refusal()).isNull();
        ChildSaRecord t = Records.verifiedChild("sa-1", e.getValue());
        assertThat(TestTags.untagged(t)).isEqualTo(ChildSaRecord.newBuilder().setId("sa-1")
                .setState(ChildSaState.CHILD_SA_STATE_DELETED).setDeletedAtMs(9_000).setUpdatedAtMs(9_000)
                .setGeneration(1).build());
    }

    @Test
    void maintenanceLeavesARewrittenOrphanAlone() {
        byte[] bad = rewritten(TestTags.sealed(outbound("sa-1")), b -> b.setLeaseHighWater(1));
        MaintenanceProcessor pass = new MaintenanceProcessor(10_000, Map.of("u2", "n2"), 600_000);
        Map.Entry<String, byte[]> e = new SimpleEntry<>("sa-1", bad);
        assertThat(pass.due().apply(e)).as("selected: its owner is gone").isTrue();
        assertThat(pass.process(e)).isEqualTo(MaintenanceProcessor.REFUSED);
        assertThat(e.getValue()).isSameAs(bad);

        IkeSaRecord ike = IkeSaRecord.newBuilder().setId("ike-1").setOwnerNodeId("n1").setOwnerMember("u1").build();
        byte[] badIke = ike.toBuilder().setRecordTag(ByteString.copyFrom(new byte[RecordMac.TAG_LENGTH])).build().toByteArray();
        Map.Entry<String, byte[]> ie = new SimpleEntry<>("ike-1", badIke);
        assertThat(new IkeMaintenanceProcessor(10_000, Map.of("u2", "n2")).process(ie)).isEqualTo(MaintenanceProcessor.REFUSED);
        assertThat(ie.getValue()).isSameAs(badIke);

        Map.Entry<String, byte[]> good = new SimpleEntry<>("ike-1", TestTags.sealed(ike));
        new IkeMaintenanceProcessor(10_000, Map.of("u2", "n2")).process(good);
        assertThat(Records.verifiedIke("ike-1", good.getValue()).getOwnerMember()).isEqualTo("u2");
    }

    @Test
    void anIkeUpsertOverARewrittenRecordIsRefusedAndANewOneIsTagged() {
        IkeSaRecord ike = IkeSaRecord.newBuilder().setId("ike-1").setConnection("c").setOwnerMember("u1").build();
        Map.Entry<String, byte[]> e = new SimpleEntry<>("ike-1", null);
        assertThat(new IkeUpsertProcessor(ike, 5, TestTags.MAC.kekId()).process(e).refusal()).isNull();
        assertThat(Records.verifiedIke("ike-1", e.getValue()).getGeneration()).isEqualTo(1);

        byte[] bad = Records.parseIke(e.getValue()).toBuilder().setRemoteIdentity("fqdn:evil").build().toByteArray();
        e.setValue(bad);
        assertThat(new IkeUpsertProcessor(ike, 6, TestTags.MAC.kekId()).process(e).refusal()).isEqualTo(Kind.DATA_LOSS);
        assertThat(e.getValue()).isSameAs(bad);
    }

    /** A merge side as Hazelcast hands it to the policy. */
    private record Side(String key, byte[] value) implements com.hazelcast.spi.merge.MergingEntry<Object, Object> {
        @Override
        public Object getKey() {
            return key;
        }

        @Override
        public Object getRawKey() {
            return key;
        }

        @Override
        public Object getDeserializedValue() {
            return value;
        }

        @Override
        public Object getRawValue() {
            return value;
        }
    }

    @Test
    void aMergeNeverLetsARewrittenRecordTakePart() {
        byte[] good = TestTags.sealed(outbound("sa-1"));
        // A "side" that merges in with a forged record whose high-water mark would win the rule.
        byte[] forged = rewritten(good, b -> b.setLeaseHighWater(9_999_999).setPeer(Endpoint.getDefaultInstance()));
        SaMergePolicies.ChildSa policy = new SaMergePolicies.ChildSa();
        assertThat(policy.merge(new Side("sa-1", forged), new Side("sa-1", good))).isSameAs(good);
        assertThat(policy.merge(new Side("sa-1", forged), null)).as("nothing stored").isNull();
        assertThat(policy.merge(new Side("sa-1", good), new Side("sa-1", forged))).as("the intact side replaces it")
                .isSameAs(good);
        byte[] other = TestTags.sealed(outbound("sa-1").toBuilder().setLeaseHighWater(6_000).setOwnerMember("u2").build());
        byte[] merged = (byte[]) policy.merge(new Side("sa-1", other), new Side("sa-1", good));
        assertThat(Records.verifiedChild("sa-1", merged).getLeaseHighWater()).isEqualTo(6_000);

        IkeSaRecord ike = IkeSaRecord.newBuilder().setId("ike-1").setNextRequestMessageId(4).build();
        byte[] ikeGood = TestTags.sealed(ike);
        byte[] ikeForged = Records.parseIke(ikeGood).toBuilder().setNextRequestMessageId(0).setLocalIdentity("x").build()
                .toByteArray();
        assertThat(new SaMergePolicies.IkeSa().merge(new Side("ike-1", ikeForged), new Side("ike-1", ikeGood)))
                .isSameAs(ikeGood);
    }

    @Test
    void writersTagRecordsCanonicallySoTheTakeoverPatchStillApplies() {
        SplittableRandom rnd = new SplittableRandom(2104L);
        for (int i = 0; i < 500; i++) {
            ChildSaRecord r = ChildSaFieldsTest.randomRecord(rnd);
            byte[] stored = TestTags.sealed(r);
            assertThat(ChildSaFields.read(stored).canonical()).as("record %d", i).isTrue();
            assertThat(stored).as("record %d: as toByteArray() writes the record with its tag", i)
                    .isEqualTo(Records.parseChild(stored).toByteArray());
        }
    }
}
