package dev.keel.sad.watch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Expiry;
import dev.keel.proto.v1.LifetimeEvent;
import dev.keel.proto.v1.LifetimeLimit;
import dev.keel.proto.v1.OwnershipChange;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.SaEventType;
import dev.keel.sad.store.ChildSaFieldsTest;
import dev.keel.sad.store.Records;
import dev.keel.sad.store.TestTags;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The hub's classification from a few fields of the record bytes, with events built only when
 * sent, against the classification it replaced (parse both records, compare, build at once).
 */
class SaEventHubClassifyTest {

    /** The previous implementation, kept as the reference: full parse of old and new record. */
    static List<SaEvent.Builder> reference(ChildSaRecord old, ChildSaRecord now) {
        List<SaEvent.Builder> out = new ArrayList<>(2);
        if (now == null) {
            out.add(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_CHILD_SA_DELETED)
                    .setChildSa(ChildSaRecord.newBuilder().setId(old.getId())));
            return out;
        }
        if (old == null) {
            out.add(SaEvent.newBuilder().setType(Records.isLive(now)
                    ? SaEventType.SA_EVENT_TYPE_CHILD_SA_PUT : SaEventType.SA_EVENT_TYPE_CHILD_SA_DELETED).setChildSa(now));
            return out;
        }
        if (old.getGeneration() == now.getGeneration()) {
            return out;
        }
        if (now.getState() == ChildSaState.CHILD_SA_STATE_DELETED && old.getState() != ChildSaState.CHILD_SA_STATE_DELETED) {
            out.add(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_CHILD_SA_DELETED).setChildSa(now));
            return out;
        }
        if (now.getOwnerEpoch() != old.getOwnerEpoch()) {
            out.add(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_OWNERSHIP_CHANGED).setChildSa(now)
                    .setOwnership(OwnershipChange.newBuilder().setPreviousOwnerNodeId(old.getOwnerNodeId())
                            .setNewOwnerNodeId(now.getOwnerNodeId()).setReason(now.getOwnerReason())));
        }
        if (now.hasSoftExpiry() && !old.hasSoftExpiry()) {
            out.add(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_LIFETIME_EXPIRED).setChildSa(now)
                    .setLifetime(LifetimeEvent.newBuilder().setHard(false).setLimit(now.getSoftExpiry().getLimit())));
        }
        if (now.hasHardExpiry() && !old.hasHardExpiry()) {
            out.add(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_LIFETIME_EXPIRED).setChildSa(now)
                    .setLifetime(LifetimeEvent.newBuilder().setHard(true).setLimit(now.getHardExpiry().getLimit())));
        }
        if (out.isEmpty()) {
            out.add(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_CHILD_SA_PUT).setChildSa(now));
        }
        return out;
    }

    /** A random change of {@code r}: counters only, a takeover, a deletion, an expiry, an update. */
    private static ChildSaRecord change(ChildSaRecord r, SplittableRandom rnd) {
        ChildSaRecord.Builder b = r.toBuilder();
        switch (rnd.nextInt(6)) {
            case 0 -> b.setLeaseHighWater(r.getLeaseHighWater() + 1024); // counters: same generation
            case 1 -> b.setOwnerNodeId("n" + rnd.nextInt(3)).setOwnerMember("u" + rnd.nextInt(9))
                    .setOwnerEpoch(r.getOwnerEpoch() + 1).setOwnerReason(OwnershipReason.OWNERSHIP_REASON_TAKEOVER)
                    .setGeneration(r.getGeneration() + 1);
            case 2 -> b.setState(ChildSaState.CHILD_SA_STATE_DELETED).clearKeys().setGeneration(r.getGeneration() + 1);
            case 3 -> b.setSoftExpiry(Expiry.newBuilder().setAtMs(5).setLimit(LifetimeLimit.LIFETIME_LIMIT_PACKETS))
                    .setGeneration(r.getGeneration() + 1);
            case 4 -> b.setSoftExpiry(Expiry.newBuilder().setLimit(LifetimeLimit.LIFETIME_LIMIT_TIME))
                    .setHardExpiry(Expiry.newBuilder().setLimit(LifetimeLimit.LIFETIME_LIMIT_BYTES))
                    .setState(ChildSaState.CHILD_SA_STATE_EXPIRED).setOwnerEpoch(r.getOwnerEpoch() + 1)
                    .setGeneration(r.getGeneration() + 1);
            default -> b.setStateValue(rnd.nextInt(6)).setGeneration(r.getGeneration() + 1);
        }
        return b.build();
    }

    /** The record as sad-service stores it: with its integrity tag. */
    private static ChildSaRecord stored(ChildSaRecord r) {
        return Records.parseChild(TestTags.sealed(r));
    }

    @Test
    void sameEventsAsTheFullParseForEveryKindOfChange() {
        SplittableRandom rnd = new SplittableRandom(6311L);
        int events = 0;
        for (int i = 0; i < 5_000; i++) {
            ChildSaRecord old = stored(ChildSaFieldsTest.randomRecord(rnd));
            int shape = rnd.nextInt(8);
            ChildSaRecord before = shape == 0 ? null : old; // added
            ChildSaRecord after = shape == 1 ? null : stored(change(old, rnd)); // removed
            if (before == null && after == null) {
                continue;
            }
            List<SaEvent.Builder> expected = reference(before, after);
            List<HubEvent> got = SaEventHub.classify(old.getId(), before == null ? null : before.toByteArray(),
                    after == null ? null : after.toByteArray());
            assertThat(got).as("change %d", i).hasSameSizeAs(expected);
            for (int k = 0; k < got.size(); k++) {
                HubEvent h = got.get(k);
                h.revision = 1000 + k;
                h.observedAtMs = 77;
                SaEvent want = expected.get(k).setRevision(1000 + k).setObservedAtMs(77).build();
                assertThat(h.event(true)).as("change %d event %d", i, k).isEqualTo(want);
                SaEvent wantStripped = want.toBuilder().setChildSa(Records.withoutKeys(want.getChildSa())).build();
                assertThat(h.event(false)).isEqualTo(wantStripped);
                // The subscription filter's fields agree with the built event.
                assertThat(h.ownerNodeId).isEqualTo(want.getChildSa().getOwnerNodeId());
                assertThat(h.previousOwnerNodeId)
                        .isEqualTo(want.hasOwnership() ? want.getOwnership().getPreviousOwnerNodeId() : null);
                events++;
            }
        }
        assertThat(events).isGreaterThan(3_000);
    }

    @Test
    void aChangeWhoseRecordFailsItsIntegrityCheckIsNeverSent() {
        ChildSaRecord old = stored(ChildSaFieldsTest.randomRecord(new SplittableRandom(4301L)).toBuilder()
                .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).build());
        // Rewritten without the KEK: the generation moved (so it is published), the old tag kept.
        byte[] rewritten = old.toBuilder().setGeneration(old.getGeneration() + 1).addRemoteTs(
                dev.keel.proto.v1.TrafficSelector.getDefaultInstance()).build().toByteArray();
        List<HubEvent> got = SaEventHub.classify(old.getId(), TestTags.sealed(old), rewritten);
        assertThat(got).isNotEmpty();
        for (HubEvent h : got) {
            assertThat(h.event(true)).isNull();
            assertThat(h.event(false)).isNull();
        }
    }
}
