package dev.keel.policy.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.config.PolicyConfig;
import dev.keel.rpc.MetricsEndpoint;
import dev.keel.rpc.Promtool;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

/** policy-service's meters follow the store: the revision served and the Watch streams on it. */
class PolicyMetricsTest {

    @Test
    void revisionAndWatchersFollowTheStore() throws Exception {
        PolicyStore store = new PolicyStore(PolicyStoreTest.config(1), 4, 7);
        PrometheusMeterRegistry registry = MetricsEndpoint.newRegistry();
        new PolicyMetrics(store).bindTo(registry);

        assertThat(registry.get("keel.policy.revision").gauge().value()).isEqualTo(1);
        assertThat(registry.get("keel.policy.connections").gauge().value()).isZero();
        store.apply(PolicyStoreTest.config(2));
        PolicyStore.Subscription watch = store.subscribe(0, 0, new PolicyStore.Listener() {
            @Override
            public void onSnapshot(long epoch, long revision, PolicyConfig config) {
            }

            @Override
            public void onDelta(long epoch, ConfigDelta delta) {
            }
        });

        assertThat(registry.get("keel.policy.revision").gauge().value()).isEqualTo(2);
        assertThat(registry.get("keel.policy.watchers").gauge().value()).isEqualTo(1);
        watch.close();
        assertThat(registry.get("keel.policy.watchers").gauge().value()).isZero();
        Promtool.assertValid(registry.scrape());
    }
}
