package dev.keel.sad.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Lifetime;
import dev.keel.proto.v1.LifetimeLimit;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RecordsTest {

    private static ChildSaRecord sa(Lifetime l) {
        return ChildSaRecord.newBuilder().setId("sa").setCreatedAtMs(1_000).setGeneration(1)
                .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).setLifetime(l).build();
    }

    @Test
    void softThenHardTimeLifetime() {
        ChildSaRecord r = sa(Lifetime.newBuilder().setSoftSeconds(10).setHardSeconds(20).build());
        assertThat(Records.applyLifetimes(r, 10_999)).isSameAs(r);
        ChildSaRecord soft = Records.applyLifetimes(r, 11_000);
        assertThat(soft.getSoftExpiry().getLimit()).isEqualTo(LifetimeLimit.LIFETIME_LIMIT_TIME);
        assertThat(soft.hasHardExpiry()).isFalse();
        assertThat(soft.getGeneration()).isEqualTo(2);
        assertThat(Records.applyLifetimes(soft, 12_000)).isSameAs(soft);
        ChildSaRecord hard = Records.applyLifetimes(soft, 21_000);
        assertThat(hard.getState()).isEqualTo(ChildSaState.CHILD_SA_STATE_EXPIRED);
        assertThat(hard.getHardExpiry().getLimit()).isEqualTo(LifetimeLimit.LIFETIME_LIMIT_TIME);
    }

    @Test
    void byteAndPacketLimits() {
        ChildSaRecord r = sa(Lifetime.newBuilder().setSoftBytes(100).setHardPackets(50).build());
        ChildSaRecord b = Records.applyLifetimes(r.toBuilder().setBytes(100).build(), 2_000);
        assertThat(b.getSoftExpiry().getLimit()).isEqualTo(LifetimeLimit.LIFETIME_LIMIT_BYTES);
        ChildSaRecord p = Records.applyLifetimes(r.toBuilder().setPackets(50).build(), 2_000);
        assertThat(p.getHardExpiry().getLimit()).isEqualTo(LifetimeLimit.LIFETIME_LIMIT_PACKETS);
        assertThat(p.hasSoftExpiry()).as("a hard expiry implies the soft one").isTrue();
    }

    @Test
    void chooseOwnerIsDeterministicAndSpreads() {
        Map<String, String> live = new LinkedHashMap<>();
        live.put("u1", "n1");
        live.put("u2", "n2");
        live.put("u3", "n3");
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 3_000; i++) {
            String id = "sa-" + i;
            String owner = Records.chooseOwner(id, live);
            assertThat(Records.chooseOwner(id, new LinkedHashMap<>(live))).isEqualTo(owner);
            counts.merge(owner, 1, Integer::sum);
        }
        assertThat(counts.values()).allSatisfy(c -> assertThat(c).isBetween(800, 1200));
    }
}
