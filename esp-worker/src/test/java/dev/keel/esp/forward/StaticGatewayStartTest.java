package dev.keel.esp.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.plain.VirtualWire;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A node that cannot start says why, and leaves no SA keys behind. */
@Timeout(60)
class StaticGatewayStartTest {

    private static StaticSaPair pair(InetSocketAddress peer) {
        return new StaticSaPair(TwoGateways.spec(0x5000), TwoGateways.spec(0x5001), peer,
                List.of(TrafficSelector.parse("10.1.0.0/16")), List.of(TrafficSelector.parse("10.2.0.0/16")));
    }

    @Test
    void refusesVertxWithoutTheNativeTransport() throws Exception {
        Vertx nio = Vertx.vertx(new VertxOptions().setPreferNativeTransport(false).setEventLoopPoolSize(1));
        try {
            InetSocketAddress any = new InetSocketAddress("127.0.0.2", 0);
            StaticSaPair p = pair(any);
            Future<StaticGateway> f = StaticGateway.start(nio, StaticGateway.Config.of(any, List.of(p)),
                    new VirtualWire(nio, any, any, UdpOptions.DEFAULTS));
            assertThat(f.failed()).isTrue();
            assertThat(f.cause()).hasMessageContaining("native (epoll) transport");
        } finally {
            nio.close().await(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void failsCleanlyWhenTheAddressCannotBeBound() throws Exception {
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(2));
        try {
            // TEST-NET-1 is on no interface here: bind fails with EADDRNOTAVAIL; nothing is sent.
            InetSocketAddress nowhere = new InetSocketAddress("192.0.2.1", 4500);
            InetSocketAddress wire = new InetSocketAddress("127.0.0.2", TwoGateways.freePort("127.0.0.2"));
            Future<StaticGateway> f = StaticGateway.start(vertx, StaticGateway.Config.of(nowhere, List.of(pair(nowhere))),
                    new VirtualWire(vertx, wire, wire, UdpOptions.DEFAULTS));
            try {
                f.await(10, TimeUnit.SECONDS);
                throw new AssertionError("started on an address that is not local");
            } catch (Exception expected) {
                assertThat(f.failed()).isTrue();
            }
            // The failed start closed what it had opened; a new node on the same wire address starts.
            InetSocketAddress udp = new InetSocketAddress("127.0.0.2", TwoGateways.freePort("127.0.0.2"));
            StaticGateway gw = StaticGateway.start(vertx, StaticGateway.Config.of(udp, List.of(pair(udp))),
                    new VirtualWire(vertx, wire, wire, UdpOptions.DEFAULTS)).await(10, TimeUnit.SECONDS);
            assertThat(gw.loops()).isEqualTo(2);
            gw.close().await(10, TimeUnit.SECONDS);
            assertThat(gw.outboundSas()).allSatisfy(sa -> assertThat(sa.isClosed()).isTrue());
        } finally {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }
}
