package dev.keel.ike.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpRange;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelectors;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.engine.IkeSettings;
import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.message.IkeDecodeResult;
import dev.keel.ike.message.IkeIdentity;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.session.ConnectionDirectory;
import dev.keel.ike.session.IkeDrop;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSaExecutor;
import dev.keel.ike.session.RandomSpiAllocator;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The responder's state machine fed whole sequences of datagrams: a responder engine with a PSK
 * connection for strongSwan's captured IKE_SA_INIT (aes256gcm16-prfsha256-x25519), run on the
 * caller's thread (its timers never fire), gets up to eight datagrams cut from the input, each
 * framed as a two-byte length and the bytes, from one of two peer addresses and on 500 or 4500.
 * The seed is the captured IKE_SA_INIT request, so the fuzzer starts from a half-open IKE SA.
 *
 * <p>Asserted: nothing escapes the engine; no message was a fault inside it
 * ({@link IkeDrop#INTERNAL_ERROR}, the catch-all that keeps an IKE SA alive after a bug); every
 * datagram it sent decodes as an IKE message; half-open IKE SAs stay within the limit.
 */
class ResponderFuzzTest {

    private static final InetSocketAddress[] PEERS = {new InetSocketAddress("198.51.100.2", 500),
        new InetSocketAddress("198.51.100.3", 500)};
    private static final String PSK = "responder-fuzz-psk-0123456789";

    /** Runs everything at once on the caller's thread; timers never fire (the input is the only clock). */
    private static final IkeSaExecutor INLINE = new IkeSaExecutor() {
        @Override
        public void execute(Runnable action) {
            action.run();
        }

        @Override
        public Cancellable schedule(Duration delay, Runnable action) {
            if (delay.isZero()) {
                action.run();
            }
            return () -> { };
        }

        @Override
        public long nowMillis() {
            return 1_000_000;
        }
    };

    @FuzzTest(maxDuration = "15s")
    void datagramSequences(byte[] input) throws Exception {
        List<byte[]> sent = new ArrayList<>();
        IkeEngine responder = new IkeEngine((port, peer, message) -> sent.add(message.clone()), IkeEvents.NONE,
                IpAddress.parse("192.0.2.1"), 500, 4500, directory(), new RandomSpiAllocator(new SecureRandom()),
                () -> INLINE, IkeSettings.DEFAULT, new SecureRandom());
        int at = 0;
        for (int n = 0; n < 8 && at + 3 <= input.length; n++) {
            int flags = input[at] & 0xff;
            int length = Math.min(((input[at + 1] & 0xff) << 8) | (input[at + 2] & 0xff), input.length - at - 3);
            at += 3;
            byte[] datagram = java.util.Arrays.copyOfRange(input, at, at + length);
            at += length;
            responder.onMessage((flags & 1) == 0 ? 500 : 4500, PEERS[(flags >> 1) & 1], datagram, 0, datagram.length);
        }
        assertThat(responder.counters().droppedCount(IkeDrop.INTERNAL_ERROR)).as("faults inside the engine").isZero();
        for (byte[] out : sent) {
            assertThat(IkeMessage.decode(out, null)).as("what the responder sent")
                    .isNotInstanceOf(IkeDecodeResult.UnprotectedError.class);
        }
        assertThat(responder.halfOpenCount()).isLessThanOrEqualTo(IkeSettings.DEFAULT.halfOpenLimit());
    }

    private static ConnectionDirectory directory() throws Exception {
        ChildConnection child = new ChildConnection("net", TrafficSelectors.parseList("10.2.0.0/16"),
                TrafficSelectors.parseList("10.1.0.0/16"), Proposal.parseList(Protocol.ESP, "aes256gcm16"),
                IpsecMode.TUNNEL, Duration.ofHours(1), Duration.ofMinutes(66), ChildConnection.StartAction.NONE);
        ConnectionDirectory d = new ConnectionDirectory();
        d.replace(List.of(new IkeConnection("peer", List.of(), List.of(IpRange.parse("198.51.100.0-198.51.100.255")),
                500, IkeIdentity.parse("gw.keel.test"), null,
                new IkeConnection.Auth.Psk(PSK.getBytes(StandardCharsets.UTF_8)),
                Proposal.parseList(Protocol.IKE, "aes256gcm16-prfsha256-x25519"), false, Duration.ZERO,
                List.of(child))));
        return d;
    }
}
