package dev.keel.policy.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyStoreTest {

    private static final long EPOCH = 77;

    /** A configuration with one bypass policy whose remote host is 10.9.9.{n}. */
    static PolicyConfig config(int n) {
        ConfigResult r = new ConfigLoader(k -> null).loadText("t.yaml", """
                policies:
                  - {name: p, local_ts: 10.0.0.0/24, remote_ts: 10.9.9.%d, action: bypass}
                """.formatted(n));
        return ((ConfigResult.Valid) r).config();
    }

    /** Records what a subscriber receives as "S<rev>" and "D<rev>". */
    static final class Recorder implements PolicyStore.Listener {
        final List<String> events = new ArrayList<>();

        @Override
        public void onSnapshot(long epoch, long revision, PolicyConfig config) {
            events.add("S" + revision);
        }

        @Override
        public void onDelta(long epoch, ConfigDelta delta) {
            events.add("D" + delta.revision());
        }
    }

    private PolicyStore storeAtRevision(int revision, int retention) {
        PolicyStore store = new PolicyStore(config(1), retention, EPOCH);
        for (int r = 2; r <= revision; r++) {
            store.apply(config(r));
        }
        return store;
    }

    @Test
    void revisionsCountAppliedConfigurations() {
        PolicyStore store = new PolicyStore(config(1), 4, EPOCH);
        assertThat(store.current().revision()).isEqualTo(1);
        assertThat(store.apply(config(2)).revision()).isEqualTo(2);
        assertThat(store.current().config().policies().get(0).remoteTs()).hasToString("[10.9.9.2/32]");
        assertThat(store.epoch()).isEqualTo(EPOCH);
    }

    @Test
    void newSubscriberGetsSnapshotThenDeltas() {
        PolicyStore store = storeAtRevision(3, 4);
        Recorder r = new Recorder();
        store.subscribe(0, 0, r);
        store.apply(config(4));
        store.apply(config(5));
        assertThat(r.events).containsExactly("S3", "D4", "D5");
    }

    @Test
    void reconnectGetsExactlyTheMissedDeltas() {
        PolicyStore store = storeAtRevision(6, 4);
        Recorder r = new Recorder();
        store.subscribe(3, EPOCH, r);
        assertThat(r.events).containsExactly("D4", "D5", "D6");
    }

    @Test
    void upToDateReconnectGetsNothingUntilTheNextChange() {
        PolicyStore store = storeAtRevision(6, 4);
        Recorder r = new Recorder();
        store.subscribe(6, EPOCH, r);
        assertThat(r.events).isEmpty();
        store.apply(config(7));
        assertThat(r.events).containsExactly("D7");
    }

    @Test
    void snapshotWhenDeltasAreNoLongerRetained() {
        PolicyStore store = storeAtRevision(6, 2); // deltas 5 and 6 retained
        Recorder r = new Recorder();
        store.subscribe(4, EPOCH, r);
        assertThat(r.events).containsExactly("D5", "D6");
        Recorder old = new Recorder();
        store.subscribe(3, EPOCH, old);
        assertThat(old.events).containsExactly("S6");
    }

    @Test
    void snapshotForAnotherEpochOrAFutureRevision() {
        PolicyStore store = storeAtRevision(3, 4);
        Recorder otherEpoch = new Recorder();
        store.subscribe(2, EPOCH + 1, otherEpoch);
        Recorder future = new Recorder();
        store.subscribe(9, EPOCH, future);
        assertThat(otherEpoch.events).containsExactly("S3");
        assertThat(future.events).containsExactly("S3");
    }

    @Test
    void closedAndBrokenSubscribersStopReceiving() {
        PolicyStore store = storeAtRevision(1, 4);
        Recorder closed = new Recorder();
        store.subscribe(0, 0, closed).close();
        store.subscribe(0, 0, new PolicyStore.Listener() {
            @Override
            public void onSnapshot(long epoch, long revision, PolicyConfig config) {
            }

            @Override
            public void onDelta(long epoch, ConfigDelta delta) {
                throw new IllegalStateException("stream gone");
            }
        });
        Recorder healthy = new Recorder();
        store.subscribe(0, 0, healthy);
        store.apply(config(2));
        store.apply(config(3));
        assertThat(closed.events).containsExactly("S1");
        assertThat(healthy.events).containsExactly("S1", "D2", "D3");
        assertThat(store.subscriberCount()).isEqualTo(1);
    }

    @Test
    void deltaHoldsChangedConnectionsAndTheWholeChangedSpd() {
        PolicyConfig a = config(1);
        ConfigDelta same = PolicyStore.diff(a, config(1), 2);
        assertThat(same.spdChanged()).isFalse();
        assertThat(same.spd()).isEmpty();
        assertThat(same.upsertedConnections()).isEmpty();
        ConfigDelta changed = PolicyStore.diff(a, config(2), 2);
        assertThat(changed.spdChanged()).isTrue();
        assertThat(changed.spd()).hasSize(1);
    }
}
