package dev.keel.ike.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NoncePayload;
import dev.keel.ike.session.IkeCounters;
import dev.keel.ike.session.IkeDrop;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The responder's half-open admission (RFC 7296 §2.6): limits hold even before the SAs exist. */
class HalfOpenSasTest {

    private final IkeCounters counters = new IkeCounters();
    private final AtomicInteger cookiesSent = new AtomicInteger();

    private HalfOpenSas halfOpen(int cookieThresholdIp, int halfOpenLimit, int blockThreshold) {
        return new HalfOpenSas(new IkeSettings(1_000, cookieThresholdIp, halfOpenLimit, blockThreshold,
                Duration.ofSeconds(30), Duration.ZERO), new SecureRandom(), counters,
                (port, peer, message) -> cookiesSent.incrementAndGet());
    }

    @Test
    void requestsLetInButNotYetSasCountAgainstTheBlockThreshold() {
        // The engine adds the SA after admit returns, on another loop for another request: before the
        // fix, requests admitted at once from one address all passed the check against the old count.
        HalfOpenSas h = halfOpen(128, 1_000, 2);
        InetSocketAddress peer = new InetSocketAddress("192.0.2.7", 500);
        int admitted = 0;
        for (long spi = 1; spi <= 5; spi++) {
            if (h.admit(500, peer, init(spi), header(spi)) != null) {
                admitted++;
            }
        }
        assertThat(admitted).isEqualTo(2);
        assertThat(counters.droppedCount(IkeDrop.HALF_OPEN_PEER_LIMIT)).isEqualTo(3);
        assertThat(h.countFrom(peer.getAddress())).isEqualTo(2);
        assertThat(h.count()).isEqualTo(2);
        // another address is not blocked by this one
        InetSocketAddress other = new InetSocketAddress("192.0.2.8", 500);
        assertThat(h.admit(500, other, init(9), header(9))).isNotNull();
    }

    @Test
    void theGlobalLimitHoldsAcrossAddresses() {
        HalfOpenSas h = halfOpen(128, 3, 128);
        int admitted = 0;
        for (int i = 1; i <= 6; i++) {
            InetSocketAddress peer = new InetSocketAddress("192.0.2." + i, 500);
            if (h.admit(500, peer, init(i), header(i)) != null) {
                admitted++;
            }
        }
        assertThat(admitted).isEqualTo(3);
        assertThat(counters.droppedCount(IkeDrop.HALF_OPEN_LIMIT)).isEqualTo(3);
    }

    @Test
    void aRequestRefusedAfterItsPlaceWasReservedGivesThePlaceBack() {
        HalfOpenSas h = halfOpen(1, 1_000, 128);
        InetSocketAddress peer = new InetSocketAddress("192.0.2.7", 500);
        assertThat(h.admit(500, peer, init(1), header(1))).isNotNull();
        // the second from this address needs a cookie: answered with one, no state kept
        assertThat(h.admit(500, peer, init(2), header(2))).isNull();
        assertThat(cookiesSent.get()).isEqualTo(1);
        // a malformed one: dropped after the limits passed
        byte[] truncated = java.util.Arrays.copyOf(init(3), 40);
        assertThat(h.admit(500, new InetSocketAddress("192.0.2.9", 500), truncated, header(3))).isNull();
        assertThat(h.countFrom(peer.getAddress())).isEqualTo(1);
        assertThat(h.countFrom(new InetSocketAddress("192.0.2.9", 500).getAddress())).isZero();
        assertThat(h.count()).isEqualTo(1);
    }

    private static IkeHeader header(long spi) {
        return IkeHeader.of(spi, 0, ExchangeType.IKE_SA_INIT, true, false, 0);
    }

    private static byte[] init(long spi) {
        return IkeMessage.encode(header(spi), List.of(new NoncePayload(new byte[32]))).bytes();
    }
}
