package dev.keel.sad.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.Expiry;
import dev.keel.proto.v1.Lifetime;
import dev.keel.proto.v1.LifetimeLimit;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.proto.v1.TrafficSelector;
import dev.keel.proto.v1.WrappedChildKeys;
import java.util.AbstractMap.SimpleEntry;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The byte-level reader and owner patch against protobuf's own parser and serializer: for seeded
 * random records, the patch must give exactly the bytes of parse, modify, serialize.
 */
public class ChildSaFieldsTest {

    private static final int RECORDS = 5_000;

    /** A random record: every field sometimes at its default (omitted), sometimes at an extreme. */
    public static ChildSaRecord randomRecord(SplittableRandom rnd) {
        ChildSaRecord.Builder b = ChildSaRecord.newBuilder().setId("sa-" + Long.toHexString(rnd.nextLong()));
        if (rnd.nextBoolean()) {
            b.setConnection("conn-" + rnd.nextInt(100)).setChild("net").setIkeSaId("ike-" + rnd.nextInt(1000));
        }
        b.setSpi(rnd.nextInt());
        b.setDirectionValue(rnd.nextInt(3));
        b.setProtocolValue(rnd.nextInt(3)).setModeValue(rnd.nextInt(3));
        if (rnd.nextBoolean()) {
            b.setLocal(Endpoint.newBuilder().setAddress(ByteString.copyFrom(bytes(rnd, 4))).setPort(rnd.nextInt(65536)));
            b.setPeer(Endpoint.newBuilder().setAddress(ByteString.copyFrom(bytes(rnd, 16))).setPort(4500));
        }
        b.setEncryptionTransform(rnd.nextInt(30)).setEncryptionKeyLength(rnd.nextInt(40));
        b.setIntegrityTransform(rnd.nextInt(14)).setIntegrityKeyLength(rnd.nextInt(64));
        if (rnd.nextInt(4) != 0) {
            b.setKeys(WrappedChildKeys.newBuilder().setEncryption(ByteString.copyFrom(bytes(rnd, 8 + rnd.nextInt(48))))
                    .setKekId(rnd.nextInt()));
        }
        b.setEsn(rnd.nextBoolean()).setReplayWindow(rnd.nextInt(5) == 0 ? 0 : 1 << rnd.nextInt(16));
        for (int i = rnd.nextInt(4); i > 0; i--) {
            b.addLocalTs(TrafficSelector.newBuilder().setIpProtocol(rnd.nextInt(256)).setStartPort(rnd.nextInt(65536)));
        }
        for (int i = rnd.nextInt(4); i > 0; i--) {
            b.addRemoteTs(TrafficSelector.newBuilder().setEndPort(rnd.nextInt(65536)));
        }
        if (rnd.nextInt(3) != 0) {
            b.setLifetime(Lifetime.newBuilder().setSoftSeconds(rnd.nextInt(4) * 1000L).setHardSeconds(rnd.nextInt(4) * 2000L)
                    .setSoftBytes(rnd.nextInt(3) == 0 ? 0 : rnd.nextLong()).setHardPackets(rnd.nextInt(3) == 0 ? 0 : rnd.nextLong()));
        }
        b.setCreatedAtMs(pick(rnd)).setUpdatedAtMs(pick(rnd));
        if (rnd.nextInt(8) != 0) {
            b.setOwnerNodeId("n" + rnd.nextInt(4)).setOwnerMember("u" + rnd.nextInt(6));
        }
        b.setOwnerEpoch(pick(rnd)).setLeaseHighWater(pick(rnd)).setReplayCheckpoint(pick(rnd)).setReplayFloor(pick(rnd));
        b.setReplayMargin(rnd.nextInt(3) == 0 ? pick(rnd) : rnd.nextInt(1 << 20));
        b.setStateValue(rnd.nextInt(6)).setGeneration(pick(rnd)).setBytes(pick(rnd)).setPackets(pick(rnd));
        if (rnd.nextInt(4) == 0) {
            b.setSoftExpiry(Expiry.newBuilder().setAtMs(rnd.nextLong()).setLimit(LifetimeLimit.LIFETIME_LIMIT_TIME));
        }
        if (rnd.nextInt(6) == 0) {
            b.setHardExpiry(Expiry.newBuilder().setLimit(LifetimeLimit.LIFETIME_LIMIT_BYTES));
        }
        b.setDeletedAtMs(pick(rnd)).setOwnerReasonValue(rnd.nextInt(4));
        return b.build();
    }

    /** 0, small, -1 (2^64-1 unsigned: the epoch wraps to 0), or anything. */
    private static long pick(SplittableRandom rnd) {
        return switch (rnd.nextInt(5)) {
            case 0 -> 0;
            case 1 -> rnd.nextInt(100_000);
            case 2 -> -1;
            case 3 -> Long.MAX_VALUE - rnd.nextInt(3);
            default -> rnd.nextLong();
        };
    }

    private static byte[] bytes(SplittableRandom rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    @Test
    void readsTheSameFieldsAsTheParser() {
        SplittableRandom rnd = new SplittableRandom(20261129L);
        for (int i = 0; i < RECORDS; i++) {
            ChildSaRecord r = randomRecord(rnd);
            ChildSaFields f = ChildSaFields.read(r.toByteArray());
            assertThat(f.canonical()).isTrue();
            assertThat(f.id()).isEqualTo(r.getId());
            assertThat(f.ownerNodeId()).isEqualTo(r.getOwnerNodeId());
            assertThat(f.ownerMember()).isEqualTo(r.getOwnerMember());
            byte[] member = r.getOwnerMember().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            assertThat(OwnedByMember.ownerMemberIs(r.toByteArray(), member)).isTrue();
            assertThat(OwnedByMember.ownerMemberIs(r.toByteArray(), (r.getOwnerMember() + "x").getBytes())).isFalse();
            assertThat(OwnedByMember.ownerMemberIs(r.toByteArray(), new byte[0])).isEqualTo(r.getOwnerMember().isEmpty());
            assertThat(f.ownerEpoch()).isEqualTo(r.getOwnerEpoch());
            assertThat(f.generation()).isEqualTo(r.getGeneration());
            assertThat(f.state()).isEqualTo(r.getState());
            assertThat(f.isLive()).isEqualTo(Records.isLive(r));
            assertThat(f.deletedAtMs()).isEqualTo(r.getDeletedAtMs());
            assertThat(f.ownerReasonValue()).isEqualTo(r.getOwnerReasonValue());
            assertThat(f.hasSoftExpiry()).isEqualTo(r.hasSoftExpiry());
            assertThat(f.hasHardExpiry()).isEqualTo(r.hasHardExpiry());
            long now = rnd.nextInt(10_000_000);
            assertThat(f.lifetimeDue(now)).as("record %d", i).isEqualTo(Records.applyLifetimes(r, now) != r);
        }
    }

    @Test
    void ownerPatchIsByteIdenticalToParseModifySerialize() {
        SplittableRandom rnd = new SplittableRandom(4303L);
        for (int i = 0; i < RECORDS; i++) {
            ChildSaRecord r = randomRecord(rnd);
            byte[] stored = TestTags.sealed(r);
            // Several takeovers in a row: the patched bytes are patched again, and never grow.
            for (int round = 0; round < 3; round++) {
                String node = rnd.nextInt(5) == 0 ? "" : "node-" + rnd.nextInt(3);
                String member = rnd.nextInt(5) == 0 ? "" : "member-" + Long.toHexString(rnd.nextLong());
                OwnershipReason reason = rnd.nextBoolean() ? OwnershipReason.OWNERSHIP_REASON_TAKEOVER
                        : OwnershipReason.OWNERSHIP_REASON_CLAIM;
                long now = rnd.nextInt(4) == 0 ? 0 : pick(rnd);
                byte[] expected = Records.sealed(TestTags.MAC, r.getId(),
                        ClaimProcessor.reassign(Records.parseChild(stored), node, member, reason, now));
                byte[] patched = ChildSaFields.read(stored).reassign(TestTags.MAC, r.getId(), node, member, reason,
                        now);
                assertThat(patched).as("record %d round %d", i, round).isEqualTo(expected);
                stored = patched;
            }
        }
    }

    @Test
    void outOfOrderOrDuplicatedFieldsAreNotCanonicalAndTheMaintenancePassStillMatchesTheParser() {
        ChildSaRecord r = ChildSaRecord.newBuilder().setId("sa-1").setDirection(Direction.DIRECTION_INBOUND)
                .setOwnerNodeId("n1").setOwnerMember("gone").setOwnerEpoch(3).setReplayCheckpoint(100)
                .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).setGeneration(7).build();
        // Protobuf takes the last occurrence of a scalar; this layout has the owner member twice.
        byte[] twice = TestTags.sealedBytes("sa-1", concat(r.toByteArray(),
                ChildSaRecord.newBuilder().setOwnerMember("gone2").build().toByteArray()));
        // The id after the other fields.
        byte[] reordered = TestTags.sealedBytes("sa-1", concat(r.toBuilder().clearId().build().toByteArray(),
                ChildSaRecord.newBuilder().setId("sa-1").build().toByteArray()));
        MaintenanceProcessor pass = new MaintenanceProcessor(10_000, Map.of("u2", "n2"), 600_000);
        for (byte[] odd : new byte[][] {twice, reordered}) {
            assertThat(ChildSaFields.read(odd).canonical()).isFalse();
            Map.Entry<String, byte[]> e = new SimpleEntry<>("sa-1", odd);
            assertThat(pass.process(e)).isEqualTo(Boolean.TRUE);
            assertThat(e.getValue()).isEqualTo(Records.sealed(TestTags.MAC, "sa-1", pass.next(Records.parseChild(odd))));
        }
    }

    @Test
    void maintenancePassFastPathMatchesTheFullParse() {
        SplittableRandom rnd = new SplittableRandom(7296L);
        for (int i = 0; i < RECORDS; i++) {
            ChildSaRecord r = randomRecord(rnd);
            MaintenanceProcessor pass = new MaintenanceProcessor(rnd.nextInt(10_000_000),
                    rnd.nextInt(6) == 0 ? Map.of() : Map.of("u1", "n1", "u3", "n3", "u9", "n2"), rnd.nextInt(600_000));
            ChildSaRecord expected = pass.next(r);
            Map.Entry<String, byte[]> e = TestTags.entry(r);
            byte[] before = e.getValue();
            assertThat(pass.isDue(e.getValue())).as("record %d", i).isEqualTo(expected != r);
            Object changed = pass.process(e);
            assertThat(changed).isEqualTo(expected != r ? Boolean.TRUE : null);
            assertThat(e.getValue()).as("record %d", i).isEqualTo(expected == null ? null
                    : expected == r ? before : Records.sealed(TestTags.MAC, r.getId(), expected));
        }
    }

    @Test
    void damagedBytesAreAnIllegalStateExceptionOrReadAsTheParserReadsThem() {
        SplittableRandom rnd = new SplittableRandom(5649L);
        int parsed = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] b = randomRecord(rnd).toByteArray();
            switch (rnd.nextInt(3)) {
                case 0 -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length + 1)); // truncated
                case 1 -> b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256); // one byte changed
                default -> {
                    for (int k = rnd.nextInt(1, 8); k > 0; k--) {
                        b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                    }
                }
            }
            ChildSaRecord r;
            try {
                r = ChildSaRecord.parseFrom(b);
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                r = null;
            }
            ChildSaFields f;
            try {
                f = ChildSaFields.read(b);
            } catch (IllegalStateException e) {
                assertThat(r).as("damaged record %d: the parser reads it, so must the reader (%s)", i, e.getMessage()).isNull();
                continue;
            }
            if (r != null) {
                parsed++;
                assertThat(f.ownerEpoch()).isEqualTo(r.getOwnerEpoch());
                assertThat(f.generation()).isEqualTo(r.getGeneration());
                assertThat(f.stateValue()).isEqualTo(r.getStateValue());
                assertThat(f.ownerMember()).isEqualTo(r.getOwnerMember());
                assertThat(f.hasSoftExpiry()).isEqualTo(r.hasSoftExpiry());
                assertThat(f.id()).isEqualTo(r.getId());
                assertThat(f.ownerNodeId()).isEqualTo(r.getOwnerNodeId());
                assertThat(f.lifetimeDue(4_000_000)).isEqualTo(Records.applyLifetimes(r, 4_000_000) != r);
                if (f.canonical()) {
                    // Damage can leave explicit defaults or odd sub-messages the patch copies as they
                    // are (stored records never have them), so compare what the bytes mean.
                    ChildSaRecord want = ClaimProcessor.reassign(r, "n9", "u9",
                            OwnershipReason.OWNERSHIP_REASON_TAKEOVER, 9);
                    assertThat(TestTags.untagged(Records.parseChild(f.reassign(TestTags.MAC, "k", "n9", "u9",
                            OwnershipReason.OWNERSHIP_REASON_TAKEOVER, 9)))).as("damaged record %d", i)
                            .isEqualTo(TestTags.untagged(want));
                }
            }
        }
        assertThat(parsed).as("damaged records the parser still read").isGreaterThan(1_000);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
