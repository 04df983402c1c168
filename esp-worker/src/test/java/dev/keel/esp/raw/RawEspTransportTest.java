package dev.keel.esp.raw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.esp.net.DatagramReceiver;
import dev.keel.esp.net.EventLoops;
import dev.keel.esp.wire.SystemTests;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.EventLoop;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A raw ESP socket on loopback (root: CAP_NET_RAW), bound to 127.0.0.77 so that nothing else on
 * the host reaches it: what a sender sends to that address comes back through the kernel as
 * protocol 50, arrives on the event loop without its IPv4 header and with the sender's address,
 * and SPI 0 is counted, not delivered.
 */
class RawEspTransportTest {

    private static final HexFormat HEX = HexFormat.of();

    private Vertx vertx;
    private RawEspTransport raw;

    @AfterEach
    void close() throws Exception {
        if (raw != null) {
            raw.close();
        }
        if (vertx != null) {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void espSentToTheBoundAddressComesBackWithoutItsIpHeader() throws Exception {
        SystemTests.assumeRoot();
        InetAddress local = InetAddress.getByName("127.0.0.77");
        raw = RawEspTransport.open(true, false, local);
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(1));
        EventLoop loop = EventLoops.of(vertx).getFirst();
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        raw.startReceiving(loop, new DatagramReceiver() {
            @Override
            public void onDatagram(ByteBuf payload, InetSocketAddress sender) {
                got.add(sender.getAddress().getHostAddress() + " " + ByteBufUtil.hexDump(payload));
            }

            @Override
            public void onBatchEnd() {
                got.add("end");
            }
        }).await(10, TimeUnit.SECONDS);

        byte[] esp = HEX.parseHex("c0000077" + "00000001" + "0102030405060708090a0b0c0d0e0f10");
        byte[] spi0 = HEX.parseHex("00000000" + "00000001" + "aabb");
        RawEspTransport.Sender sender = raw.sender();
        InetSocketAddress to = new InetSocketAddress(local, 4500);
        loop.submit(() -> {
            assertThat(sender.send(spi0, 0, spi0.length, to)).isTrue();
            assertThat(sender.send(esp, 0, esp.length, to)).isTrue();
        }).get(10, TimeUnit.SECONDS);

        assertThat(got.poll(10, TimeUnit.SECONDS)).isEqualTo("127.0.0.77 " + HEX.formatHex(esp));
        assertThat(got.poll(10, TimeUnit.SECONDS)).isEqualTo("end");
        assertThat(raw.sent()).isEqualTo(2);
        assertThat(raw.received()).isEqualTo(1);
        assertThat(raw.malformed()).isEqualTo(1);
        // More than one recvmmsg batch (16 slots) of packets, sent before the loop reads: all arrive, in order.
        int burst = 40;
        loop.submit(() -> {
            for (int i = 0; i < burst; i++) {
                byte[] p = esp.clone();
                p[7] = (byte) (i + 2);
                sender.send(p, 0, p.length, to);
            }
        }).get(10, TimeUnit.SECONDS);
        for (int i = 0; i < burst; i++) {
            String line = got.poll(10, TimeUnit.SECONDS);
            while ("end".equals(line)) {
                line = got.poll(10, TimeUnit.SECONDS);
            }
            assertThat(line).as("packet " + i).startsWith("127.0.0.77 c0000077" + String.format("%08x", i + 2));
        }
        assertThat(raw.received()).isEqualTo(1 + burst);
        // No socket for IPv6 was opened: an IPv6 peer is a counted drop, not an exception.
        assertThat(sender.send(esp, 0, esp.length, new InetSocketAddress(InetAddress.getByName("::1"), 0))).isFalse();
        assertThat(raw.sendDrops()).isEqualTo(1);
    }

    @Test
    void bindingToAnAddressOfNoInterfaceNamesTheCallAndTheError() throws Exception {
        SystemTests.assumeRoot();
        assertThatThrownBy(() -> RawEspTransport.open(true, false, InetAddress.getByName("192.0.2.77")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("bind(raw ESP AF_INET, 192.0.2.77)")
                .hasMessageContaining("EADDRNOTAVAIL");
    }
}
