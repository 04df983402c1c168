package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ike.engine.IkeSettings;
import dev.keel.ike.metrics.IkeMetrics;
import dev.keel.rpc.MetricsEndpoint;
import dev.keel.rpc.Promtool;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The IKE engine's meters follow its counters: exchanges by type and role, failures by cause,
 * rekeys, IKE SAs up, and the setup histogram, one observation per IKE SA established.
 */
class IkeMetricsTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";

    /** Two peers whose engines each have a registry with their meters. */
    private static final class MeasuredPeers implements AutoCloseable {
        final PrometheusMeterRegistry alice = MetricsEndpoint.newRegistry();
        final PrometheusMeterRegistry bob = MetricsEndpoint.newRegistry();
        final TwoIkePeers peers;

        MeasuredPeers() {
            IkeMetrics aliceMetrics = new IkeMetrics(alice);
            IkeMetrics bobMetrics = new IkeMetrics(bob);
            peers = new TwoIkePeers(IkeSettings.DEFAULT, aliceMetrics, bobMetrics);
            aliceMetrics.bind(peers.alice);
            bobMetrics.bind(peers.bob);
        }

        @Override
        public void close() throws Exception {
            peers.close();
        }
    }

    private static double count(PrometheusMeterRegistry r, String name, String... tags) {
        return r.get(name).tags(tags).functionCounter().count();
    }

    @Test
    void anIkeSaSetUpCountsItsExchangesAndItsSetupTime() throws Exception {
        try (MeasuredPeers m = new MeasuredPeers()) {
            m.peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            m.peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob established", () -> m.peers.bob.counters().establishedCount() == 1);

            for (String exchange : new String[] {"IKE_SA_INIT", "IKE_AUTH"}) {
                assertThat(count(m.alice, "keel.ike.exchanges", "exchange", exchange, "role", "initiator")).isEqualTo(1);
                assertThat(count(m.bob, "keel.ike.exchanges", "exchange", exchange, "role", "responder")).isEqualTo(1);
                assertThat(count(m.alice, "keel.ike.exchanges", "exchange", exchange, "role", "responder")).isZero();
            }
            assertThat(count(m.alice, "keel.ike.sa.established")).isEqualTo(1);
            assertThat(count(m.bob, "keel.ike.child.sa.established")).isEqualTo(1);
            assertThat(m.alice.get("keel.ike.sas").gauge().value()).isEqualTo(1);
            Timer setup = m.alice.get("keel.ike.sa.setup").timer();
            assertThat(setup.count()).as("one observation per IKE SA established").isEqualTo(1);
            assertThat(setup.totalTime(TimeUnit.MILLISECONDS)).isGreaterThan(0)
                    .isEqualTo((double) TwoIkePeers.onlyIkeSa(m.peers.alice).setupMillis());
            assertThat(m.bob.get("keel.ike.sa.setup").timer().count()).isEqualTo(1);
            assertThat(m.alice.find("keel.ike.exchange.failures").functionCounters())
                    .allSatisfy(c -> assertThat(c.count()).isZero());
            String text = m.alice.scrape();
            assertThat(text).contains("keel_ike_sa_setup_seconds_bucket{le=\"30.0\"} 1",
                    "keel_ike_exchanges_total{exchange=\"IKE_AUTH\",role=\"initiator\"} 1.0");
            Promtool.assertValid(text);
        }
    }

    @Test
    void aRekeyIsCountedOnBothSidesAndMakesNoSetupObservation() throws Exception {
        try (MeasuredPeers m = new MeasuredPeers()) {
            m.peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa sa = m.peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(30), "bob has the child", () -> m.peers.bobEvents.children.size() == 1);
            m.peers.alice.rekeyChild(sa, m.peers.aliceEvents.children.peek().inboundSpi());
            Eventually.until(Duration.ofSeconds(30), "rekeyed", () -> m.peers.bobEvents.childrenDeleted.size() == 1);
            m.peers.alice.rekeyIke(sa);
            Eventually.until(Duration.ofSeconds(30), "IKE SA rekeyed", () -> sa.state() == IkeSaState.DESTROYED);
            Eventually.until(Duration.ofSeconds(5), "bob counted it", () -> m.peers.bob.counters().ikeRekeyCount() == 1);

            for (PrometheusMeterRegistry r : new PrometheusMeterRegistry[] {m.alice, m.bob}) {
                assertThat(count(r, "keel.ike.rekeys", "sa", "child")).isEqualTo(1);
                assertThat(count(r, "keel.ike.rekeys", "sa", "ike")).isEqualTo(1);
                assertThat(r.get("keel.ike.sa.setup").timer().count()).as("a rekey is no setup").isEqualTo(1);
            }
            assertThat(count(m.alice, "keel.ike.exchanges", "exchange", "CREATE_CHILD_SA", "role", "initiator"))
                    .isEqualTo(2);
            assertThat(count(m.bob, "keel.ike.exchanges", "exchange", "CREATE_CHILD_SA", "role", "responder"))
                    .isEqualTo(2);
        }
    }

    @Test
    void aWrongPskIsRefusedByTheResponderAndAPeerErrorToTheInitiator() throws Exception {
        try (MeasuredPeers m = new MeasuredPeers()) {
            m.peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "right-secret", "wrong-secret",
                    "10.2.0.0/16", "10.2.0.0/16");
            assertThatThrownBy(() -> m.peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);
            Eventually.until(Duration.ofSeconds(5), "no IKE SA left",
                    () -> m.peers.alice.ikeSaCount() + m.peers.bob.ikeSaCount() == 0);

            assertThat(count(m.bob, "keel.ike.exchange.failures", "exchange", "IKE_AUTH", "cause", "refused"))
                    .isEqualTo(1);
            assertThat(count(m.alice, "keel.ike.exchange.failures", "exchange", "IKE_AUTH", "cause", "peer_error"))
                    .isEqualTo(1);
            assertThat(count(m.alice, "keel.ike.sa.failed")).isEqualTo(1);
            assertThat(count(m.alice, "keel.ike.sa.established")).isZero();
            assertThat(m.alice.get("keel.ike.sa.setup").timer().count()).isZero();
        }
    }

    @Test
    void anUnansweredInitIsATimeoutAfterItsRetransmissions() throws Exception {
        try (MeasuredPeers m = new MeasuredPeers()) {
            m.peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            m.peers.dropToBob = msg -> true;
            assertThatThrownBy(() -> m.peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);

            assertThat(count(m.alice, "keel.ike.exchange.failures", "exchange", "IKE_SA_INIT", "cause", "timeout"))
                    .isEqualTo(1);
            assertThat(count(m.alice, "keel.ike.retransmissions")).isEqualTo(3);
            assertThat(count(m.alice, "keel.ike.exchanges", "exchange", "IKE_SA_INIT", "role", "initiator")).isZero();
        }
    }

    @Test
    void aGroupRetryIsAFailedInitAnsweredWithAPeerError() throws Exception {
        try (MeasuredPeers m = new MeasuredPeers()) {
            m.peers.configurePsk("aes256gcm16-prfsha256-x25519-ecp256", "aes256gcm16-prfsha256-ecp256",
                    "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            m.peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);

            assertThat(count(m.alice, "keel.ike.exchange.failures", "exchange", "IKE_SA_INIT", "cause", "peer_error"))
                    .as("INVALID_KE_PAYLOAD").isEqualTo(1);
            assertThat(count(m.alice, "keel.ike.exchanges", "exchange", "IKE_SA_INIT", "role", "initiator"))
                    .isEqualTo(2);
            assertThat(count(m.alice, "keel.ike.sa.established")).isEqualTo(1);
        }
    }
}
