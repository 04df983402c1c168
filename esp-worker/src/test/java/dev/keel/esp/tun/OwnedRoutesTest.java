package dev.keel.esp.tun;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.keel.core.net.IpPrefix;
import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.esp.feed.CheckpointRule;
import dev.keel.proto.ChildKeyUnwrapper;
import dev.keel.esp.feed.ReplayCheckpoints;
import dev.keel.esp.feed.SaTables;
import dev.keel.esp.packet.Suites;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.IpsecMode;
import dev.keel.proto.v1.IpsecProtocol;
import dev.keel.proto.v1.TrafficSelector;
import dev.keel.proto.v1.WrappedChildKeys;
import dev.keel.sad.keys.KeyEncryptionKey;
import dev.keel.sad.keys.KeyWrap;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code routes: owner_preferred} from the SA tables to the owner's route changes: the SAD's records go into a real
 * {@link SaTables}, whose outbound SAs drive {@link OwnedRoutes}, whose changes reach a fake
 * applier. Each route is added once when the first outbound SA of its child is installed here and
 * removed once when the last one leaves (deleted, or owned by another node now); a rekey, whose new
 * SA is installed before the old one goes, changes nothing.
 */
class OwnedRoutesTest {

    private static final IpPrefix NET = IpPrefix.parse("10.2.0.0/24");
    private static final IpPrefix NET6 = IpPrefix.parse("2001:db8:2::/64");
    private static final IpPrefix OTHER = IpPrefix.parse("10.3.0.0/24");
    private static final IpPrefix TRAPPED = IpPrefix.parse("10.9.0.0/24"); // a trap child: owner routes as any other
    /** The children's remote prefixes, as the gateway's configuration gives them. */
    private static final Map<String, List<IpPrefix>> CHILDREN = Map.of(
            "net", List.of(NET, NET6), "other", List.of(OTHER, NET), "trapped", List.of(TRAPPED));

    private final byte[] kek = new byte[32];
    private final KeyWrap wrap;
    private final SaTables tables;
    private final FakeApplier applier = new FakeApplier();
    private final ManualScheduler scheduler = new ManualScheduler();

    OwnedRoutesTest() {
        new SecureRandom().nextBytes(kek);
        wrap = new KeyWrap(KeyEncryptionKey.of(kek));
        tables = new SaTables("w1", new ChildKeyUnwrapper(kek), sa -> { }, new ReplayCheckpoints(
                InProcessChannelBuilder.forName("nowhere").build(), "w1", CheckpointRule.defaults()),
                new ExpiryListener() {
                    @Override
                    public void onSoftExpiry(String saId, String connection, String child, boolean outbound) {
                    }

                    @Override
                    public void onHardExpiry(String saId, String connection, String child, boolean outbound) {
                    }
                }, Runnable::run);
    }

    private OwnedRoutes follow() {
        OwnedRoutes routes = new OwnedRoutes(r -> CHILDREN.getOrDefault(r.getChild(), List.of()),
                applier, scheduler, () -> { });
        tables.addOutboundListener(routes);
        return routes;
    }

    @Test
    void aRouteIsAddedWithTheFirstOutboundSaAndRemovedWithTheLastARekeyChangesNothing() {
        OwnedRoutes routes = follow();
        tables.upsert(record("in-1", 0x1001, Direction.DIRECTION_INBOUND, "net", "w1", 1));
        assertThat(applier.calls).as("an inbound SA routes nothing: the LAN's packets need the outbound one").isEmpty();

        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "net", "w1", 1));
        assertThat(applier.calls).containsExactly(List.of(add(NET), add(NET6)));

        // The rekey: the new pair is installed, then the old one deleted.
        tables.upsert(record("in-2", 0x1002, Direction.DIRECTION_INBOUND, "net", "w1", 1));
        tables.upsert(record("out-2", 0x2002, Direction.DIRECTION_OUTBOUND, "net", "w1", 1));
        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "net", "w1", 1).toBuilder()
                .setState(ChildSaState.CHILD_SA_STATE_DELETED).build());
        tables.upsert(record("in-1", 0x1001, Direction.DIRECTION_INBOUND, "net", "w1", 1).toBuilder()
                .setState(ChildSaState.CHILD_SA_STATE_DELETED).build());
        assertThat(tables.outbound().lookup("site-b/net").spi()).isEqualTo(0x2002);
        assertThat(applier.calls).as("no flap across the rekey").hasSize(1);

        // Deleted: the last outbound SA of the child goes, and its routes with it.
        tables.upsert(record("out-2", 0x2002, Direction.DIRECTION_OUTBOUND, "net", "w1", 1).toBuilder()
                .setState(ChildSaState.CHILD_SA_STATE_DELETED).build());
        assertThat(applier.calls).containsExactly(List.of(add(NET), add(NET6)), List.of(remove(NET), remove(NET6)));
        assertThat(routes.routed()).isEmpty();
        assertThat(routes.added()).isEqualTo(2);
        assertThat(routes.removed()).isEqualTo(2);
        assertThat(routes.failures()).isZero();
    }

    @Test
    void ownershipMovingAwayRemovesTheRoutesAndMovingBackAddsThem() {
        OwnedRoutes routes = follow();
        tables.upsert(record("out-9", 0x2009, Direction.DIRECTION_OUTBOUND, "net", "w2", 1));
        assertThat(applier.calls).as("another node's SA").isEmpty();

        tables.upsert(record("out-9", 0x2009, Direction.DIRECTION_OUTBOUND, "net", "w1", 2)); // claimed here
        tables.upsert(record("out-9", 0x2009, Direction.DIRECTION_OUTBOUND, "net", "w1", 2)); // an update: no news
        tables.upsert(record("out-9", 0x2009, Direction.DIRECTION_OUTBOUND, "net", "w2", 3)); // claimed by w2
        tables.upsert(record("out-9", 0x2009, Direction.DIRECTION_OUTBOUND, "net", "w2", 3));
        tables.upsert(record("out-9", 0x2009, Direction.DIRECTION_OUTBOUND, "net", "w1", 4)); // and back
        assertThat(applier.calls).containsExactly(List.of(add(NET), add(NET6)), List.of(remove(NET), remove(NET6)),
                List.of(add(NET), add(NET6)));
        assertThat(routes.routed()).containsExactlyInAnyOrder(NET, NET6);

        tables.clear(); // the node stops: its SAs leave the tables
        assertThat(applier.calls).last().isEqualTo(List.of(remove(NET), remove(NET6)));
    }

    /** What the fed worker tells ike-service before the IKE response leaves: the owner's route is in. */
    @Test
    void anOutboundSaIsRoutedOnceItsRoutesAreApplied() {
        scheduler.inline = false; // the routes thread has not run yet
        OwnedRoutes routes = follow();
        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "net", "w1", 1));
        assertThat(routes.routedFor("out-1")).as("counted, not applied").isFalse();
        scheduler.runDue();
        assertThat(routes.routedFor("out-1")).isTrue();
        assertThat(routes.routedFor("out-2")).as("not installed here").isFalse();
    }

    @Test
    void childrenSharingAPrefixShareItsRoute() {
        follow();
        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "net", "w1", 1));
        tables.upsert(record("out-2", 0x2002, Direction.DIRECTION_OUTBOUND, "other", "w1", 1));
        tables.upsert(record("out-3", 0x2003, Direction.DIRECTION_OUTBOUND, "trapped", "w1", 1));
        tables.remove("out-1");
        tables.remove("out-3");
        assertThat(applier.calls).as("10.2.0.0/24 stays for 'other'").containsExactly(List.of(add(NET), add(NET6)),
                List.of(add(OTHER)), List.of(add(TRAPPED)), List.of(remove(NET6)), List.of(remove(TRAPPED)));
        tables.remove("out-2");
        assertThat(applier.calls).last().isEqualTo(List.of(remove(NET), remove(OTHER)));
    }

    @Test
    void changesArrivingWhileTheLastBatchRunsGoInOneBatchAndAFlapBetweenCostsNothing() {
        scheduler.inline = false; // the routes thread is busy
        follow();
        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "net", "w1", 1));
        tables.upsert(record("out-2", 0x2002, Direction.DIRECTION_OUTBOUND, "other", "w1", 1));
        tables.upsert(record("out-3", 0x2003, Direction.DIRECTION_OUTBOUND, "net", "w1", 1));
        tables.remove("out-3");
        tables.remove("out-1");
        assertThat(scheduler.due).as("one run scheduled for all of them").hasSize(1);
        scheduler.runDue();
        assertThat(applier.calls).as("10.2.0.0/24 and 10.3.0.0/24 in one batch; the IPv6 prefix came and went before it")
                .containsExactly(List.of(add(NET), add(OTHER)));
    }

    @Test
    void aFailedChangeIsLoggedAndTriedAgainLaterNotFatal() {
        OwnedRoutes routes = follow();
        applier.failing.add(add(NET6));
        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "net", "w1", 1));
        assertThat(routes.failures()).isEqualTo(1);
        assertThat(routes.routed()).containsExactlyInAnyOrder(NET);
        assertThat(scheduler.delays).containsExactly(OwnedRoutes.FIRST_RETRY_MILLIS);

        scheduler.runDelayed(); // still failing: the next try waits twice as long
        assertThat(scheduler.delays).containsExactly(2 * OwnedRoutes.FIRST_RETRY_MILLIS);
        applier.failing.clear();
        scheduler.runDelayed();
        assertThat(applier.calls).containsExactly(List.of(add(NET), add(NET6)), List.of(add(NET6)), List.of(add(NET6)));
        assertThat(routes.routed()).containsExactlyInAnyOrder(NET, NET6);
        assertThat(scheduler.delays).isEmpty();

        // A removal that fails while the SA comes back before the retry: nothing left to do then.
        applier.failing.add(remove(NET));
        tables.remove("out-1");
        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "net", "w1", 2));
        int calls = applier.calls.size();
        scheduler.runDelayed();
        assertThat(applier.calls).hasSize(calls);
        assertThat(routes.routed()).containsExactlyInAnyOrder(NET, NET6);
    }

    @Test
    void aListenerAddedLateHearsOfTheOutboundSasInstalledAlready() {
        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "net", "w1", 1));
        follow();
        assertThat(applier.calls).containsExactly(List.of(add(NET), add(NET6)));
    }

    private static OwnedRoutes.Change add(IpPrefix p) {
        return new OwnedRoutes.Change(p, true);
    }

    private static OwnedRoutes.Change remove(IpPrefix p) {
        return new OwnedRoutes.Change(p, false);
    }

    private ChildSaRecord record(String id, int spi, Direction dir, String child, String owner, long epoch) {
        Suites s = Suites.AES128_GCM16;
        Endpoint ep = Endpoint.newBuilder().setAddress(ByteString.copyFrom(new byte[] {127, 0, 0, 3})).setPort(4500)
                .build();
        TrafficSelector any = TrafficSelector.newBuilder().setStartAddress(ByteString.copyFrom(new byte[4]))
                .setEndAddress(ByteString.copyFrom(new byte[] {-1, -1, -1, -1})).setEndPort(65535).build();
        return ChildSaRecord.newBuilder().setId(id).setConnection("site-b").setChild(child).setSpi(spi)
                .setDirection(dir).setProtocol(IpsecProtocol.IPSEC_PROTOCOL_ESP).setMode(IpsecMode.IPSEC_MODE_TUNNEL)
                .setLocal(ep).setPeer(ep).setEncryptionTransform(s.encryption.id()).setEncryptionKeyLength(20)
                .setReplayWindow(dir == Direction.DIRECTION_INBOUND ? 64 : 0).addLocalTs(any).addRemoteTs(any)
                .setKeys(WrappedChildKeys.newBuilder().setEncryption(ByteString.copyFrom(wrap.wrap(s.encryptionKey(spi))))
                        .setKekId(wrap.kekId()))
                .setOwnerNodeId(owner).setOwnerEpoch(epoch).setState(ChildSaState.CHILD_SA_STATE_ACTIVE)
                .setCreatedAtMs(spi).build();
    }

    /** Records every batch; fails the changes in {@link #failing}. */
    private static final class FakeApplier implements OwnedRoutes.Applier {
        final List<List<OwnedRoutes.Change>> calls = new ArrayList<>();
        final Set<OwnedRoutes.Change> failing = new HashSet<>();

        @Override
        public Collection<OwnedRoutes.Change> apply(List<OwnedRoutes.Change> changes) {
            calls.add(List.copyOf(changes));
            return changes.stream().filter(failing::contains).toList();
        }
    }

    /** Runs a task due now at once ({@link #inline}) or when told; keeps delayed tasks until told. */
    private static final class ManualScheduler implements OwnedRoutes.Scheduler {
        boolean inline = true;
        final List<Runnable> due = new ArrayList<>();
        final List<Runnable> delayed = new ArrayList<>();
        final List<Long> delays = new ArrayList<>();

        @Override
        public void schedule(Runnable task, long delayMillis) {
            if (delayMillis > 0) {
                delayed.add(task);
                delays.add(delayMillis);
            } else if (inline) {
                task.run();
            } else {
                due.add(task);
            }
        }

        void runDue() {
            List<Runnable> now = List.copyOf(due);
            due.clear();
            now.forEach(Runnable::run);
        }

        void runDelayed() {
            List<Runnable> now = List.copyOf(delayed);
            delayed.clear();
            delays.clear();
            now.forEach(Runnable::run);
        }
    }
}
