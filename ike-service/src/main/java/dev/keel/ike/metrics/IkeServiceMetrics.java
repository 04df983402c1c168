package dev.keel.ike.metrics;

import static dev.keel.ike.metrics.IkeMetrics.counter;

import dev.keel.ike.net.IkeRelayService;
import dev.keel.ike.service.SadChildInstaller;
import dev.keel.ike.service.SadIkeSaAdopter;
import dev.keel.ike.service.SadIkeSaStore;
import dev.keel.ike.service.SadSaClaimer;
import dev.keel.ike.service.SadSpiPool;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.concurrent.TimeUnit;

/**
 * What IKE does through sad-service, the HA paths above all (docs/ha.md): CHILD SAs installed and
 * deleted, IKE SA state written before each response leaves and how long that takes, IKE SAs
 * taken over when a member left, claims of SAs whose packets reach this node and how long they
 * take, the pool of SAD-reserved SPIs, and the IKE relay the esp-workers attach to (its drops by
 * reason: {@link IkeRelayService.Drop}). Read from the counters each part keeps; a part that is
 * null (not in this deployment) has no meters.
 */
public final class IkeServiceMetrics implements MeterBinder {

    private final SadChildInstaller installer;
    private final SadIkeSaStore store;
    private final SadIkeSaAdopter adopter;
    private final SadSaClaimer claims;
    private final SadSpiPool spis;
    private final IkeRelayService relay;

    /** The meters of the parts given (any may be null). */
    public IkeServiceMetrics(SadChildInstaller installer, SadIkeSaStore store, SadIkeSaAdopter adopter,
            SadSaClaimer claims, SadSpiPool spis, IkeRelayService relay) {
        this.installer = installer;
        this.store = store;
        this.adopter = adopter;
        this.claims = claims;
        this.spis = spis;
        this.relay = relay;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        if (installer != null) {
            String installs = "CHILD SAs installed in sad-service, or whose install failed";
            counter(registry, "keel.ike.child.sa.installs", installer, SadChildInstaller::installed, installs,
                    "result", "installed");
            counter(registry, "keel.ike.child.sa.installs", installer, SadChildInstaller::installFailures, installs,
                    "result", "failed");
            counter(registry, "keel.ike.child.sa.deletes", installer, SadChildInstaller::deleted,
                    "CHILD SAs deleted in sad-service");
            Gauge.builder("keel.ike.child.sa.installs.pending", installer, SadChildInstaller::pending)
                    .description("CHILD SA installs under way (the IKE response waits for them)").register(registry);
        }
        if (store != null) {
            FunctionTimer.builder("keel.ike.sa.state.writes", store, SadIkeSaStore::writes, SadIkeSaStore::writeNanos,
                    TimeUnit.NANOSECONDS).description("IKE SA states stored in sad-service before a response or"
                            + " request leaves (DESIGN 4), and the time they took").register(registry);
            counter(registry, "keel.ike.sa.state.write.failures", store, SadIkeSaStore::writeFailures,
                    "IKE SA state writes sad-service refused or did not answer");
        }
        if (adopter != null) {
            String takeovers = "IKE SA records this node came to own: adopted and carried on, refused (could not"
                    + " be taken over), or lost to another node";
            counter(registry, "keel.ike.sa.takeovers", adopter, SadIkeSaAdopter::adopted, takeovers,
                    "result", "adopted");
            counter(registry, "keel.ike.sa.takeovers", adopter, SadIkeSaAdopter::refused, takeovers,
                    "result", "refused");
            counter(registry, "keel.ike.sa.takeovers", adopter, SadIkeSaAdopter::lost, takeovers, "result", "lost");
        }
        if (claims != null) {
            String outcome = "Look-ups of SAs whose packets reach this node while another node owns them, by"
                    + " outcome: claimed, refused (a race lost, not ours to serve), not found, or limited by the gate";
            counter(registry, "keel.ike.claims", claims, SadSaClaimer::claimsMade, outcome, "result", "made");
            counter(registry, "keel.ike.claims", claims, SadSaClaimer::claimsRefused, outcome, "result", "refused");
            counter(registry, "keel.ike.claims", claims, SadSaClaimer::claimsNotFound, outcome, "result",
                    "not_found");
            counter(registry, "keel.ike.claims", claims, SadSaClaimer::claimsLimited, outcome, "result", "limited");
            FunctionTimer.builder("keel.ike.claim.duration", claims, SadSaClaimer::claimsMade,
                    SadSaClaimer::claimNanos, TimeUnit.NANOSECONDS)
                    .description("Claims made and the time from the packet to the claim").register(registry);
        }
        if (relay != null) {
            String datagrams = "IKE datagrams relayed by the esp-workers: received from peers (in) or sent (out)";
            counter(registry, "keel.ike.relay.datagrams", relay, IkeRelayService::received, datagrams,
                    "direction", "in");
            counter(registry, "keel.ike.relay.datagrams", relay, IkeRelayService::sent, datagrams,
                    "direction", "out");
            for (IkeRelayService.Drop d : IkeRelayService.Drop.values()) {
                counter(registry, "keel.ike.relay.drops", relay, r -> r.drops(d),
                        "IKE messages the relay did not pass on (either way), by reason", "reason", IkeMetrics.label(d));
            }
            Gauge.builder("keel.ike.relay.workers", relay, IkeRelayService::workers)
                    .description("esp-workers attached to the IKE relay").register(registry);
        }
        if (spis != null) {
            Gauge.builder("keel.ike.spi.pool.available", spis, SadSpiPool::available)
                    .description("Inbound SPIs reserved in sad-service and not handed out yet").register(registry);
            counter(registry, "keel.ike.spi.pool.fallbacks", spis, SadSpiPool::fallbacks,
                    "Random SPIs handed out because the pool was empty");
        }
    }
}
