package dev.keel.ike.session;

import dev.keel.ike.crypto.SkCipher;
import dev.keel.ike.message.EncryptedFragmentPayload;
import dev.keel.ike.message.IkeDecodeResult;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.PayloadType;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * IKE fragmentation (RFC 7383) for one IKE SA: whether both sides announced it in IKE_SA_INIT,
 * the SKF fragments of our messages too large for {@code fragment_size}, and the reassembly of
 * the peer's. Fragments are verified before they are stored, and a message's fragments are
 * bounded in count ({@link #MAX_FRAGMENTS}), bytes ({@link #MAX_MESSAGE_BYTES}) and time
 * ({@link #REASSEMBLY_TIMEOUT}). On the IKE SA's thread.
 */
public final class IkeFragmentation {

    /** The most fragments one message may have here. */
    public static final int MAX_FRAGMENTS = 64;
    /** The most bytes of inner payloads one reassembled message may have here. */
    public static final int MAX_MESSAGE_BYTES = 32_768;
    /** An incomplete set of fragments is thrown away this long after its first fragment. */
    public static final Duration REASSEMBLY_TIMEOUT = Duration.ofSeconds(30);

    private static final int SK = PayloadType.SK.value();
    /** IKE header and SK generic payload header: where a sealed SK body starts. */
    private static final int SK_BODY = IkeHeader.LENGTH + 4;

    private final IkeSa sa;
    private boolean announced;
    private boolean peerAnnounced;
    /** Our last two fragmented messages (a response and a request may both be out) and their fragments. */
    private final byte[][] sources = new byte[2][];
    @SuppressWarnings("unchecked")
    private final List<byte[]>[] fragments = new List[2];
    private int nextSlot;
    /** Reassembly in progress: [0] a request of the peer's, [1] a response to ours. */
    private final Reassembly[] partial = new Reassembly[2];

    IkeFragmentation(IkeSa sa) {
        this.sa = sa;
    }

    /** We put IKEV2_FRAGMENTATION_SUPPORTED in our IKE_SA_INIT message (§2.3). */
    public void noteAnnounced() {
        announced = true;
    }

    /** The peer put IKEV2_FRAGMENTATION_SUPPORTED in its IKE_SA_INIT message (§2.3). */
    public void notePeerAnnounced() {
        peerAnnounced = true;
    }

    /** True when the peer announced support in its IKE_SA_INIT message. */
    public boolean peerAnnounced() {
        return peerAnnounced;
    }

    /** True when both sides announced support: fragments may go either way (§2.3). */
    public boolean negotiated() {
        return announced && peerAnnounced;
    }

    /** A rekeyed IKE SA's successor keeps what was negotiated for the IKE SA it replaces. */
    void inherit(IkeFragmentation from) {
        announced = from.announced;
        peerAnnounced = from.peerAnnounced;
    }

    // ---- sending (§2.5) ----

    /**
     * The datagrams that carry {@code message} to {@code to} from our port {@code fromPort}: the
     * message itself, or its SKF fragments when fragmentation was negotiated, our connection
     * sends fragments, the message is protected (never IKE_SA_INIT) and it exceeds the fragment
     * size. A message sent again gets the same fragments (§2.6: the whole set is retransmitted).
     */
    List<byte[]> datagrams(byte[] message, InetSocketAddress to, int fromPort) {
        if (!negotiated() || sa.connection() == null || !sa.connection().fragmentation().sends()
                || message.length <= IkeHeader.LENGTH || (message[16] & 0xFF) != SK || sa.ciphersOrNull() == null) {
            return List.of(message);
        }
        int limit = messageLimit(sa.env().fragmentSize(), to.getAddress() instanceof Inet6Address,
                fromPort == sa.env().natTPort());
        if (message.length <= limit) {
            return List.of(message);
        }
        for (int i = 0; i < 2; i++) {
            if (sources[i] == message) {
                return fragments[i];
            }
        }
        List<byte[]> split = split(message, sa.ciphersOrNull().outbound(), limit);
        sources[nextSlot] = message;
        fragments[nextSlot] = split;
        nextSlot ^= 1;
        return split;
    }

    /**
     * The largest IKE message (header to ICV) one fragment may be for {@code fragment_size}
     * {@code fragmentSize} (the whole IP datagram, as strongSwan counts it; 0: 576 bytes over
     * IPv4, 1280 over IPv6, RFC 7383 §2.5.1), less the IP and UDP headers and on port 4500 the
     * non-ESP marker (RFC 3948 §2.2).
     */
    static int messageLimit(int fragmentSize, boolean ipv6, boolean natT) {
        int datagram = fragmentSize != 0 ? fragmentSize : ipv6 ? 1280 : 576;
        return datagram - (ipv6 ? 40 : 20) - 8 - (natT ? 4 : 0);
    }

    /**
     * The SKF fragments of {@code message}, a protected message we sealed with {@code outbound}:
     * its inner payloads are opened again with the same keys and sealed anew fragment by fragment.
     */
    static List<byte[]> split(byte[] message, SkCipher outbound, int limit) {
        IkeHeader header = IkeHeader.peek(message).orElseThrow();
        byte[] plaintext = outbound.open(message, SK_BODY);
        if (plaintext == null) {
            throw new IllegalStateException("our own SK payload did not open");
        }
        try {
            return IkeMessage.encodeFragments(header, message[IkeHeader.LENGTH] & 0xFF, plaintext, outbound, limit);
        } finally {
            Arrays.fill(plaintext, (byte) 0);
        }
    }

    // ---- receiving (§2.6) ----

    /**
     * Takes one fragment the decoder handed over from {@code from} to our port {@code localPort}:
     * the reassembled message once its last fragment arrived, else null (stored, or dropped and
     * counted). A fragment is verified before it is stored; fragment 1 of the request we answered
     * last gets that response again (§2.6.1), any other fragment of it is dropped.
     */
    IkeDecodeResult receive(IkeDecodeResult.Fragment f, InetSocketAddress from, int localPort) {
        IkeHeader h = f.header();
        EncryptedFragmentPayload skf = f.fragment();
        if (!announced || sa.ciphersOrNull() == null) {
            return drop(IkeDrop.FRAGMENT_UNSUPPORTED);
        }
        if (skf.totalFragments() > MAX_FRAGMENTS) {
            return drop(IkeDrop.FRAGMENT_LIMIT);
        }
        boolean response = h.isResponse();
        long id = h.messageId();
        boolean answered = !response && id == sa.tasks().lastResponseId();
        long awaited = response ? sa.tasks().awaitedResponseId() : sa.tasks().expectedRequestId();
        if (id != awaited && !answered) {
            return drop(IkeDrop.FRAGMENT_STALE); // checked before the ICV: nothing to verify it for
        }
        byte[] plaintext = sa.ciphersOrNull().inbound().open(f.message(), f.bodyOffset());
        if (plaintext == null) {
            return drop(IkeDrop.FRAGMENT_ICV_FAILED);
        }
        if (answered) {
            Arrays.fill(plaintext, (byte) 0);
            // §2.6.1: only fragment 1 of a retransmitted request triggers the response again
            if (skf.fragmentNumber() != 1 || !sa.tasks().answerRetransmission(id, from, localPort)) {
                return drop(IkeDrop.FRAGMENT_STALE);
            }
            return null;
        }
        int slot = response ? 1 : 0;
        Reassembly r = partial[slot];
        if (r != null && (r.messageId != id || r.response != response)) {
            abandon(slot); // a later message: the earlier one will not be completed
            r = null;
        }
        if (r != null && skf.totalFragments() != r.received.length) {
            if (skf.totalFragments() < r.received.length) {
                Arrays.fill(plaintext, (byte) 0);
                return drop(IkeDrop.FRAGMENT_TOTAL_CHANGED);
            }
            abandon(slot); // §2.6: more fragments than before: the sender made them smaller, start over
            r = null;
        }
        if (r == null) {
            r = new Reassembly(id, response, skf.totalFragments());
            partial[slot] = r;
            Reassembly started = r;
            r.timer = sa.timers().schedule(REASSEMBLY_TIMEOUT, () -> {
                if (partial[slot] == started) {
                    abandon(slot);
                }
            });
        }
        int index = skf.fragmentNumber() - 1;
        if (r.refused || r.bytes + plaintext.length > MAX_MESSAGE_BYTES) {
            Arrays.fill(plaintext, (byte) 0);
            if (!r.refused) { // keep the set's numbers without its bytes, so that its other fragments are refused too
                r.wipe();
                r.refused = true;
                r.count = 0;
                r.bytes = 0;
            }
            return drop(IkeDrop.FRAGMENT_LIMIT);
        }
        if (r.received[index] != null) {
            Arrays.fill(plaintext, (byte) 0);
            return drop(IkeDrop.FRAGMENT_DUPLICATE);
        }
        r.received[index] = plaintext;
        r.bytes += plaintext.length;
        r.count++;
        if (index == 0) {
            r.firstInner = skf.firstInnerPayload();
        }
        if (r.count < r.received.length) {
            return null;
        }
        partial[slot] = null;
        r.timer.cancel();
        byte[] whole = r.assemble();
        try {
            return IkeMessage.decodeInner(h, r.firstInner, whole, f.message());
        } finally {
            Arrays.fill(whole, (byte) 0);
        }
    }

    /** Fragments stored now, for tests: of the peer's request ({@code response} false) or of a response. */
    int storedFragments(boolean response) {
        Reassembly r = partial[response ? 1 : 0];
        return r == null ? 0 : r.count;
    }

    /** Forgets every fragment stored and cached; the IKE SA is going away. */
    void clear() {
        abandonQuietly(0);
        abandonQuietly(1);
        Arrays.fill(sources, null);
        Arrays.fill(fragments, null);
    }

    private void abandon(int slot) {
        if (partial[slot] != null) {
            sa.counters().dropped(IkeDrop.FRAGMENTS_ABANDONED);
        }
        abandonQuietly(slot);
    }

    private void abandonQuietly(int slot) {
        Reassembly r = partial[slot];
        partial[slot] = null;
        if (r != null) {
            if (r.timer != null) {
                r.timer.cancel();
            }
            r.wipe();
        }
    }

    private IkeDecodeResult drop(IkeDrop reason) {
        sa.counters().dropped(reason);
        return null;
    }

    /** The verified fragments of one message, by number. */
    private static final class Reassembly {
        final long messageId;
        final boolean response;
        final byte[][] received;
        int count;
        int bytes;
        int firstInner;
        /** Grew beyond {@link #MAX_MESSAGE_BYTES}: its fragments are dropped until a later message or the timeout. */
        boolean refused;
        IkeTimers.Cancellable timer;

        Reassembly(long messageId, boolean response, int total) {
            this.messageId = messageId;
            this.response = response;
            this.received = new byte[total][];
        }

        byte[] assemble() {
            byte[] out = new byte[bytes];
            int at = 0;
            for (byte[] part : received) {
                System.arraycopy(part, 0, out, at, part.length);
                at += part.length;
            }
            wipe();
            return out;
        }

        void wipe() {
            for (int i = 0; i < received.length; i++) {
                if (received[i] != null) {
                    Arrays.fill(received[i], (byte) 0);
                    received[i] = null;
                }
            }
        }
    }
}
