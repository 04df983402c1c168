package dev.keel.ike.engine;

import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeDecodeResult;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NoncePayload;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.net.IkeTransport;
import dev.keel.ike.session.IkeCounters;
import dev.keel.ike.session.IkeDrop;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaExecutor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The responder's half-open IKE SAs (answered IKE_SA_INIT, not yet authenticated) and what keeps
 * them bounded (RFC 7296 §2.6): which first IKE_SA_INIT requests may make one, cookies under
 * load, and the table by the initiator's SPI and endpoint (how a retransmitted IKE_SA_INIT finds
 * its SA) with counts in all and per source address. Thread-safe: a request that passes the limits
 * holds its place in both counts from that moment ({@link #admit} reserves it, {@link #add} fills
 * it), so first requests handled at once on several event loops cannot pass a limit together.
 */
final class HalfOpenSas {

    private record Key(long spiI, InetSocketAddress peer) {
    }

    private final IkeSettings limits;
    private final CookieJar cookies;
    private final IkeCounters counters;
    private final IkeTransport transport;
    private final Map<Key, IkeSa> bySpi = new ConcurrentHashMap<>();
    private final Map<IkeSa, Key> keyOf = new ConcurrentHashMap<>();
    private final Map<InetAddress, AtomicInteger> perAddress = new ConcurrentHashMap<>();
    /** Half-open IKE SAs and admitted requests not yet added. */
    private final AtomicInteger total = new AtomicInteger();

    HalfOpenSas(IkeSettings limits, SecureRandom random, IkeCounters counters, IkeTransport transport) {
        this.limits = limits;
        this.cookies = new CookieJar(random);
        this.counters = counters;
        this.transport = transport;
    }

    /**
     * A first IKE_SA_INIT request (responder SPI 0) that may make a responder IKE SA: one that
     * fits {@link IkeSettings#MAX_INIT_REQUEST}, carries message ID 0 (§2.2), stays inside the half-open
     * limits, decodes and, above the cookie thresholds, returns our cookie (§2.6; otherwise it is
     * answered with one). Null when refused; every refusal is counted. A request let in holds its
     * place in the counts: the caller {@link #add}s its SA.
     */
    IkeDecodeResult.Ok admit(int localPort, InetSocketAddress peer, byte[] datagram, IkeHeader h) {
        if (datagram.length > IkeSettings.MAX_INIT_REQUEST) {
            counters.dropped(IkeDrop.INIT_TOO_LARGE);
            return null;
        }
        if (h.messageId() != 0) {
            counters.dropped(IkeDrop.BAD_INIT_REQUEST);
            return null;
        }
        int others = total.getAndIncrement();
        if (others >= limits.halfOpenLimit()) {
            total.decrementAndGet();
            counters.dropped(IkeDrop.HALF_OPEN_LIMIT);
            return null;
        }
        InetAddress from = peer.getAddress();
        int[] fromPeer = new int[1];
        perAddress.compute(from, (a, n) -> {
            fromPeer[0] = n == null ? 0 : n.get();
            if (fromPeer[0] >= limits.blockThreshold()) {
                return n;
            }
            AtomicInteger counted = n == null ? new AtomicInteger() : n;
            counted.incrementAndGet();
            return counted;
        });
        if (fromPeer[0] >= limits.blockThreshold()) {
            total.decrementAndGet();
            counters.dropped(IkeDrop.HALF_OPEN_PEER_LIMIT);
            return null;
        }
        IkeDecodeResult.Ok ok = decodeWithCookie(localPort, peer, datagram, h,
                others >= limits.cookieThreshold() || fromPeer[0] >= limits.cookieThresholdIp());
        if (ok == null) {
            release(from);
        }
        return ok;
    }

    /** The request decoded, if it is well formed and, when {@code cookieDemanded}, carries our cookie. */
    private IkeDecodeResult.Ok decodeWithCookie(int localPort, InetSocketAddress peer, byte[] datagram, IkeHeader h,
            boolean cookieDemanded) {
        IkeDecodeResult decoded = IkeMessage.decode(datagram, null);
        if (!(decoded instanceof IkeDecodeResult.Ok ok)) {
            if (decoded instanceof IkeDecodeResult.UnprotectedError err) {
                counters.dropped(err.reason());
            } else {
                counters.dropped(IkeDrop.BAD_INIT_REQUEST);
            }
            return null;
        }
        return !cookieDemanded || hasValidCookie(ok.message(), peer, h, localPort) ? ok : null;
    }

    /** Gives back a place {@link #admit} reserved or {@link #add} filled. */
    private void release(InetAddress from) {
        total.decrementAndGet();
        perAddress.computeIfPresent(from, (a, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    /** §2.6: under load, a first IKE_SA_INIT without our cookie gets one and no state. */
    private boolean hasValidCookie(IkeMessage request, InetSocketAddress peer, IkeHeader h, int localPort) {
        Optional<NoncePayload> ni = request.first(NoncePayload.class);
        if (ni.isEmpty()) {
            counters.dropped(IkeDrop.BAD_INIT_REQUEST);
            return false;
        }
        byte[] address = peer.getAddress().getAddress();
        Optional<NotifyPayload> cookie = request.notify(NotifyType.COOKIE);
        if (cookie.isPresent() && cookies.verify(cookie.get().data(), ni.get().nonce(), address, h.initiatorSpi())) {
            return true;
        }
        IkeHeader response = IkeHeader.of(h.initiatorSpi(), 0, ExchangeType.IKE_SA_INIT, false, true, 0);
        byte[] answer = IkeMessage.encode(response, List.of(NotifyPayload.of(NotifyType.COOKIE,
                cookies.make(ni.get().nonce(), address, h.initiatorSpi())))).bytes();
        counters.dropped(IkeDrop.COOKIE_REQUIRED);
        counters.cookieSent();
        transport.send(localPort, peer, answer);
        return false;
    }

    /** Replaces the cookie secret every {@code cookie_secret_lifetime} (if set), on {@code executor}'s timers. */
    void rotateCookieSecretEvery(IkeSaExecutor executor) {
        if (limits.cookieSecretLifetime().isPositive()) {
            executor.schedule(limits.cookieSecretLifetime(), () -> {
                cookies.rotate();
                rotateCookieSecretEvery(executor);
            });
        }
    }

    /** A new cookie secret now. */
    void rotateCookieSecret() {
        cookies.rotate();
    }

    /** The half-open IKE SA a retransmission of this initiator's IKE_SA_INIT belongs to, or null. */
    IkeSa find(long spiI, InetSocketAddress peer) {
        return bySpi.get(new Key(spiI, peer));
    }

    /** Half-open IKE SAs now (and requests admitted a moment ago, becoming ones). */
    int count() {
        return total.get();
    }

    /** Half-open IKE SAs whose initiator is at {@code address}. */
    int countFrom(InetAddress address) {
        AtomicInteger n = perAddress.get(address);
        return n == null ? 0 : n.get();
    }

    /** Records the half-open IKE SA of a request {@link #admit} let in, in the place it reserved. */
    void add(long spiI, InetSocketAddress peer, IkeSa sa) {
        Key key = new Key(spiI, peer);
        bySpi.put(key, sa);
        keyOf.put(sa, key);
    }

    /** Forgets {@code sa} (authenticated or gone); harmless when it was not half open. */
    void remove(IkeSa sa) {
        Key key = keyOf.remove(sa);
        if (key == null) {
            return;
        }
        bySpi.remove(key, sa);
        release(key.peer().getAddress());
    }

    /** True while {@code sa} is half open. */
    boolean contains(IkeSa sa) {
        return keyOf.containsKey(sa);
    }

    /** How long a half-open IKE SA may take to authenticate. */
    java.time.Duration timeout() {
        return limits.halfOpenTimeout();
    }
}
