package dev.keel.ike.session;

import dev.keel.core.net.IpAddress;
import dev.keel.core.proposal.Proposal;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.crypto.IkeSaKeys;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.crypto.KeyDerivation;
import dev.keel.ike.crypto.Prf;
import dev.keel.ike.crypto.SkCiphers;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeDecodeResult;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeIdentity;
import dev.keel.ike.message.IkeMessage;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One IKE SA: identifiers, endpoints, negotiated suite and keys, its CHILD SAs, and the task
 * manager that runs its exchanges. A small mutable record the tasks fill in as the exchanges
 * progress (STYLE: keep session state small); everything happens on the thread its
 * {@link IkeTimers} belong to.
 */
public final class IkeSa {

    private static final Logger LOG = LoggerFactory.getLogger(IkeSa.class);

    private final long uniqueId;
    private final boolean originalInitiator;
    private final long spiI;
    private long spiR;
    private final IkeEnvironment env;
    private final IkeTimers timers;
    private final Consumer<IkeSa> onDestroyed;
    private final TaskManager tasks;
    private IkeSaState state = IkeSaState.CONNECTING;

    private IkeConnection connection;
    private List<IkeConnection> candidates = List.of();
    private final IkeEndpoints endpoints;

    private Proposal proposal;
    private IkeSuite suite;
    private byte[] ni;
    private byte[] nr;
    private byte[] initRequest;
    private byte[] initResponse;
    private IkeSaKeys keys;
    private SkCiphers.Pair ciphers;
    /** RFC 9370: the additional key exchanges IKE_SA_INIT negotiated, in order, and how many are done. */
    private List<dev.keel.core.transform.KeyExchangeTransform> additionalKeyExchanges = List.of();
    private int additionalKeyExchangesDone;
    /** RFC 9242 §3.3.2: IntAuth_iN and IntAuth_rN so far; null before the first IKE_INTERMEDIATE. */
    private byte[] intAuthI;
    private byte[] intAuthR;
    /**
     * Responder: the SK ciphers before the last IKE_INTERMEDIATE key update, kept until IKE_AUTH
     * so that a retransmission of the request it answered still opens and gets the cached response.
     */
    private SkCiphers.Pair previousCiphers;
    /** What each exchange makes durable before its response or our next request leaves. */
    private final ExchangeBarrier barrier = new ExchangeBarrier(this);
    /** The peer announced IKEV2_MESSAGE_ID_SYNC_SUPPORTED (RFC 6311). */
    private boolean peerMessageIdSync;
    /** Both sides announced MOBIKE_SUPPORTED in IKE_AUTH (RFC 4555 §3.2). */
    private boolean mobike;
    /** Where the request being processed came from, and to which of our ports (RFC 4555 §3.5 takes the new addresses from there). */
    private InetSocketAddress requestSource;
    private int requestLocalPort;
    /** The IKE SA this one replaced in a rekey, until that one is gone. */
    private IkeSa predecessor;
    /** Our CHILD SAs, in the order they were made. */
    private final ChildSas childSas = new ChildSas(this);
    /** RFC 7383: negotiated in IKE_SA_INIT, our fragments out, the peer's reassembled. */
    private final IkeFragmentation fragmentation = new IkeFragmentation(this);
    private long lastInboundMillis;
    /** When this IKE SA was made (our IKE_SA_INIT about to go, or the peer's received), on its timers' clock. */
    private final long createdMillis;
    /** From {@link #createdMillis} to ESTABLISHED; -1 until then, and for one made by a rekey or a takeover. */
    private long setupMillis = -1;
    private String failureReason;
    private FailureCause failureCause;
    /** When this IKE SA became established here (Unix epoch ms), 0 for one taken over from another node. */
    private long establishedAtMillis;
    /** The identity the peer authenticated with in IKE_AUTH (null until then, and after a takeover). */
    private IkeIdentity peerIdentity;
    private List<Integer> peerSignatureHashes = List.of();

    // ---- rekeying and lifetimes (RFC 7296 §1.3, §2.8) ----
    private Successors successors;
    private IkeSa successor;
    private boolean ikeRekeying;
    /** When the engine rekeys this IKE SA / deletes it unless rekeyed, Unix epoch ms; 0: never. */
    private long rekeyAtMillis;
    private long expireAtMillis;
    /** When the engine reauthenticates this IKE SA, Unix epoch ms; 0: never. A rekey's successor inherits it. */
    private long reauthAtMillis;
    /** The rekey and hard-lifetime timers: cancelled when this IKE SA ends, so they do not keep it for hours. */
    private final java.util.List<IkeTimers.Cancellable> lifetimeTimers = new java.util.ArrayList<>(2);

    /** Why an exchange failed, as far as it tells an operator what to do about it. */
    public enum FailureCause {
        /** Either side refused the other's authentication (RFC 7296 §2.21.2). */
        AUTHENTICATION,
        /** The peer did not answer our request, retransmissions included (§2.4). */
        UNANSWERED,
        /** Anything else: no proposal chosen, selectors refused, a malformed answer. */
        OTHER
    }

    /** How the engine makes the IKE SA that replaces this one when it is rekeyed. */
    public interface Successors {
        /** A fresh local IKE SPI. */
        long newSpi();

        /** Creates and registers the replacement of {@code old} with its SPIs, on {@code old}'s thread. */
        IkeSa create(IkeSa old, boolean originalInitiator, long spiI, long spiR);
    }

    /**
     * An IKE SA as the engine makes it: for an initiation ({@code originalInitiator}, {@code spiR}
     * 0), for a first IKE_SA_INIT request, or as the successor of a rekeyed one.
     */
    public IkeSa(boolean originalInitiator, long spiI, long spiR, IkeEnvironment env, IkeTimers timers,
            TaskManager.ResponderTasks responderTasks, InetSocketAddress remote, IpAddress localAddress,
            Consumer<IkeSa> onDestroyed) {
        this.originalInitiator = originalInitiator;
        this.spiI = spiI;
        this.spiR = spiR;
        this.env = env;
        this.uniqueId = env.uniqueIds().nextIkeSa();
        this.timers = timers;
        this.endpoints = new IkeEndpoints(remote, localAddress, env.ikePort(), env.natTPort());
        this.onDestroyed = onDestroyed;
        this.tasks = new TaskManager(this, env.retransmit(), responderTasks);
        this.lastInboundMillis = timers.nowMillis();
        this.createdMillis = lastInboundMillis;
    }

    // ---- identity and life ----

    /** This IKE SA's unique id on this node ({@link UniqueIds}); a rekey's replacement gets its own. */
    public long uniqueId() {
        return uniqueId;
    }

    /** True when this side sent the first IKE_SA_INIT (the I flag, RFC 7296 §3.1). */
    public boolean originalInitiator() {
        return originalInitiator;
    }

    /** The initiator's SPI. */
    public long spiI() {
        return spiI;
    }

    /** The responder's SPI, 0 until IKE_SA_INIT is answered. */
    public long spiR() {
        return spiR;
    }

    /** Sets the responder's SPI (initiator: from the response; 0 again for a retried IKE_SA_INIT). */
    public void spiR(long spi) {
        this.spiR = spi;
    }

    /** Our SPI, the key the engine files this IKE SA under. */
    public long localSpi() {
        return originalInitiator ? spiI : spiR;
    }

    public IkeSaState state() {
        return state;
    }

    /** True until the IKE SA is deleted or failed. */
    public boolean isAlive() {
        return state != IkeSaState.DESTROYED;
    }

    /** Both sides authenticated. */
    public void established() {
        if (state == IkeSaState.CONNECTING) {
            state = IkeSaState.ESTABLISHED;
            setupMillis = timers.nowMillis() - createdMillis;
            establishedAtMillis = timers.epochMillis();
            barrier.storeFromNowOn();
            forgetPreviousCiphers();
            env.counters().established();
            LOG.info("{} established with {} ({}{})", this, endpoints.remote(), suite, mobike ? ", MOBIKE" : "");
            env.events().ikeEstablished(this);
        }
    }

    /**
     * Milliseconds from IKE_SA_INIT (ours sent or the peer's received) to both sides authenticated;
     * -1 before, and for an IKE SA that a rekey or a takeover made.
     */
    public long setupMillis() {
        return setupMillis;
    }

    /** A delete of this IKE SA is under way. */
    public void deleting() {
        if (state != IkeSaState.DESTROYED) {
            state = IkeSaState.DELETING;
        }
    }

    /** Remembers why an exchange failed, for the teardown's log line and event (first reason wins). */
    public void noteFailure(String reason) {
        noteFailure(FailureCause.OTHER, reason);
    }

    /** {@link #noteFailure(String)} with what kind of failure it is. */
    public void noteFailure(FailureCause cause, String reason) {
        if (failureReason == null) {
            failureReason = reason;
            failureCause = cause;
        }
    }

    /** What kind of failure was noted first, or null: read where {@link IkeEvents#failed} reports it. */
    public FailureCause failureCause() {
        return failureCause;
    }

    /**
     * Tears this IKE SA down: CHILD SAs reported deleted, keys zeroized, timers stopped, removed
     * from the engine. Idempotent.
     */
    public void destroy(String reason) {
        destroy(reason, false, false);
    }

    /**
     * {@link #destroy(String)} because of the peer: it stopped answering ({@code unreachable},
     * logged as a warning) or deleted this IKE SA; its CHILD SAs are reported lost
     * ({@link IkeEvents#childrenLost}) once it is gone.
     */
    public void destroyByPeer(String reason, boolean unreachable) {
        destroy(reason, unreachable, true);
    }

    private void destroy(String reason, boolean unreachable, boolean byPeer) {
        if (state == IkeSaState.DESTROYED) {
            return;
        }
        // A peer that stops answering our own Delete changes nothing: we were closing it anyway.
        boolean lostByPeer = byPeer && (!unreachable || state == IkeSaState.ESTABLISHED);
        List<ChildSa> lost = lostByPeer ? childSas.lost(childSas.list()) : List.of();
        boolean failure = state != IkeSaState.DELETING && state != IkeSaState.ESTABLISHED;
        if (failureReason != null && !failureReason.equals(reason)) {
            reason = failureReason + " (" + reason + ")";
        }
        state = IkeSaState.DESTROYED;
        tasks.shutdown();
        cancelLifetimeTimers();
        childSas.removeAll();
        if (failure) {
            env.counters().failed();
            env.events().failed(this, reason);
        }
        if (unreachable) {
            LOG.warn("{} destroyed: {}", this, reason);
        } else {
            LOG.info("{} destroyed: {}", this, reason);
        }
        env.events().ikeDestroyed(this, reason);
        fragmentation.clear();
        if (ciphers != null) {
            ciphers.close();
        }
        forgetPreviousCiphers();
        if (keys != null) {
            keys.close();
        }
        wipe(ni);
        wipe(nr);
        wipe(intAuthI);
        wipe(intAuthR);
        onDestroyed.accept(this);
        if (!lost.isEmpty()) {
            env.events().childrenLost(this, lost, unreachable);
        }
    }

    /**
     * Drops this IKE SA here without a word to the peer, the SAD or the data plane: another node
     * owns it now (its state write was refused, or the node lost it in a merge). Its CHILD SAs stay
     * installed for their new owner. Idempotent.
     */
    public void abandon(String reason) {
        if (state == IkeSaState.DESTROYED) {
            return;
        }
        state = IkeSaState.DESTROYED;
        tasks.shutdown();
        cancelLifetimeTimers();
        childSas.abandonAll();
        LOG.warn("{} abandoned: {}", this, reason);
        env.events().ikeAbandoned(this, reason);
        fragmentation.clear();
        if (ciphers != null) {
            ciphers.close();
        }
        if (keys != null) {
            keys.close();
        }
        onDestroyed.accept(this);
    }

    private static void wipe(byte[] b) {
        if (b != null) {
            Arrays.fill(b, (byte) 0);
        }
    }

    // ---- plumbing ----

    public TaskManager tasks() {
        return tasks;
    }

    public IkeTimers timers() {
        return timers;
    }

    public IkeEnvironment env() {
        return env;
    }

    public IkeCounters counters() {
        return env.counters();
    }

    /** The barrier the exchanges of this IKE SA pass (DESIGN §4). */
    ExchangeBarrier barrier() {
        return barrier;
    }

    /**
     * Encodes a message of this IKE SA: IKE_SA_INIT in clear, everything else inside an SK
     * payload under our outbound keys.
     */
    public byte[] encode(OutboundMessage message, long messageId) {
        IkeHeader header = IkeHeader.of(spiI, spiR, message.exchange(), originalInitiator, message.isResponse(),
                messageId);
        IkeMessage encoded = message.exchange() == ExchangeType.IKE_SA_INIT
                ? IkeMessage.encode(header, message.payloads())
                : IkeMessage.encodeProtected(header, message.payloads(), ciphers.outbound());
        return encoded.bytes();
    }

    /** Sends a message to the peer's current endpoint from our current IKE port, in fragments if it must be (RFC 7383). */
    public void send(byte[] message) {
        sendTo(message, endpoints.remote(), endpoints.localPort());
    }

    /** Sends a message to {@code to} from our port {@code fromPort}: a cached response goes where its request came from (§2.11). */
    public void sendTo(byte[] message, InetSocketAddress to, int fromPort) {
        for (byte[] datagram : fragmentation.datagrams(message, to, fromPort)) {
            env.transport().send(fromPort, to, datagram);
        }
    }

    /** RFC 7383 fragmentation of this IKE SA: what was negotiated, and the reassembly under way. */
    public IkeFragmentation fragmentation() {
        return fragmentation;
    }

    /** The SK ciphers, null before IKE_SA_INIT derived keys. */
    SkCiphers.Pair ciphersOrNull() {
        return ciphers;
    }

    /**
     * Handles one datagram for this IKE SA from {@code from}: decodes it (with our inbound keys
     * once there are keys), then hands requests and responses to the task manager. Every drop
     * is counted by reason; a fault while handling it drops the message, never the IKE SA.
     */
    public void receive(byte[] datagram, InetSocketAddress from, int onLocalPort) {
        if (isAlive()) {
            IkeDecodeResult decoded = IkeMessage.decode(datagram, ciphers == null ? null : ciphers.inbound());
            if (previousCiphers != null && decoded instanceof IkeDecodeResult.UnprotectedError e
                    && e.reason() == IkeDecodeResult.Reason.ICV_FAILED && e.header() != null
                    && e.header().exchange() == ExchangeType.IKE_INTERMEDIATE && !e.header().isResponse()) {
                // RFC 9242 §3: the retransmitted IKE_INTERMEDIATE request is under the keys it was first sent with
                decoded = IkeMessage.decode(datagram, previousCiphers.inbound());
            }
            receive(decoded, datagram, from, onLocalPort);
        }
    }

    /** {@link #receive(byte[], InetSocketAddress, int)} for a datagram the engine already decoded (a new IKE_SA_INIT). */
    public void receive(IkeDecodeResult decoded, byte[] datagram, InetSocketAddress from, int onLocalPort) {
        if (!isAlive()) {
            return;
        }
        try {
            dispatch(decoded, datagram, from, onLocalPort);
        } catch (RuntimeException e) {
            // a bug must not escape onto the event loop, nor let one datagram end the IKE SA: drop it, loudly
            env.counters().dropped(IkeDrop.INTERNAL_ERROR);
            LOG.error("{}: unexpected failure handling a message from {}; message dropped", this, from, e);
        }
    }

    private void dispatch(IkeDecodeResult result, byte[] datagram, InetSocketAddress from, int onLocalPort) {
        switch (result) {
            case IkeDecodeResult.Ok ok -> {
                IkeMessage m = ok.message();
                IkeHeader h = m.header();
                if (h.isInitiator() == originalInitiator) { // §3.1: the I flag names the sender's role, never ours
                    env.counters().dropped(IkeDrop.WRONG_ROLE);
                } else if (!m.isProtected() && !clearMessageAcceptable(h, datagram)) {
                    env.counters().dropped(h.isResponse() == originalInitiator ? IkeDrop.UNPROTECTED : IkeDrop.WRONG_ROLE);
                } else if (h.isResponse()) {
                    if (tasks.onResponse(m)) {
                        lastInboundMillis = timers.nowMillis();
                    }
                } else {
                    tasks.onRequest(m, from, onLocalPort);
                }
            }
            case IkeDecodeResult.ProtectedError err -> {
                if (!err.header().isResponse()) {
                    tasks.answerWithError(err.header(), err.notifyType(), err.notifyData());
                } else {
                    LOG.debug("{}: malformed protected response: {}", this, err.detail());
                    env.counters().dropped(IkeDecodeResult.Reason.MALFORMED_PAYLOAD);
                }
            }
            case IkeDecodeResult.UnprotectedError err -> env.counters().dropped(err.reason());
            case IkeDecodeResult.Fragment frag -> {
                IkeDecodeResult whole = fragmentation.receive(frag, from, onLocalPort);
                if (whole != null) {
                    dispatch(whole, datagram, from, onLocalPort);
                }
            }
        }
    }

    /**
     * Whether a message in the clear (the decoder lets only IKE_SA_INIT through so) is one this IKE
     * SA takes: the initiator the response to its IKE_SA_INIT, the responder the request, as long
     * as there are no keys. Once keys exist only a byte-identical retransmission of the request
     * we answered is taken, to get the cached response again (RFC 7296 §2.1); anything else in
     * the clear could be forged by anyone who saw the SPIs (§2.4).
     */
    private boolean clearMessageAcceptable(IkeHeader h, byte[] datagram) {
        if (h.isResponse() != originalInitiator) {
            return false;
        }
        if (keys == null) {
            return true;
        }
        return !originalInitiator && h.messageId() == 0 && Arrays.equals(datagram, initRequest);
    }

    /**
     * A request with the next message ID arrived and is about to be processed: the peer is alive,
     * and a protected one moves the IKE SA to the address and port it came from, where the
     * response goes (RFC 7296 §2.11, §2.23). A retransmitted or stale request changes neither.
     */
    public void requestAccepted(IkeMessage request, InetSocketAddress from, int onLocalPort) {
        lastInboundMillis = timers.nowMillis();
        requestSource = from;
        requestLocalPort = onLocalPort;
        // RFC 4555 §3.5: with MOBIKE only UPDATE_SA_ADDRESSES moves the IKE SA (MobikeTask), nothing implicit
        if (request.isProtected() && !mobike) {
            endpoints.follow(from, onLocalPort);
        }
    }

    /** Where the request being processed came from (its IP header's source address and port). */
    public InetSocketAddress requestSource() {
        return requestSource;
    }

    /** Our port the request being processed arrived on. */
    public int requestLocalPort() {
        return requestLocalPort;
    }

    /** True when both sides announced MOBIKE_SUPPORTED in IKE_AUTH (RFC 4555 §3.2). */
    public boolean mobike() {
        return mobike;
    }

    /** Records whether MOBIKE was negotiated in IKE_AUTH. */
    public void mobike(boolean negotiated) {
        this.mobike = negotiated;
    }

    // ---- negotiated state the tasks fill in ----

    public IkeConnection connection() {
        return connection;
    }

    public void connection(IkeConnection c) {
        this.connection = c;
    }

    /** Responder: the connections that matched the addresses at IKE_SA_INIT. */
    public List<IkeConnection> candidates() {
        return candidates;
    }

    public void candidates(List<IkeConnection> list) {
        this.candidates = List.copyOf(list);
    }

    /** Where this IKE SA's messages go, and what NAT detection found. */
    public IkeEndpoints endpoints() {
        return endpoints;
    }

    public Proposal proposal() {
        return proposal;
    }

    public IkeSuite suite() {
        return suite;
    }

    public Prf prf() {
        return Prf.of(suite.prf());
    }

    public byte[] ni() {
        return ni;
    }

    public byte[] nr() {
        return nr;
    }

    public void nonces(byte[] ni, byte[] nr) {
        this.ni = ni;
        this.nr = nr;
    }

    /** The IKE_SA_INIT request as sent or received (RealMessage1, RFC 7296 §2.15). */
    public byte[] initRequest() {
        return initRequest;
    }

    /** The IKE_SA_INIT response as sent or received (RealMessage2). */
    public byte[] initResponse() {
        return initResponse;
    }

    /** Records an IKE_SA_INIT message as sent or received. */
    public void recordInit(byte[] message, boolean response) {
        if (response) {
            initResponse = message;
        } else {
            initRequest = message;
        }
    }

    /** Installs the negotiated suite and keys, from which the SK ciphers are made. */
    public void keys(Proposal negotiated, IkeSuite suite, IkeSaKeys keys) {
        this.proposal = negotiated;
        this.suite = suite;
        this.keys = keys;
        this.ciphers = SkCiphers.create(suite, keys, originalInitiator
                ? dev.keel.ike.crypto.Role.INITIATOR : dev.keel.ike.crypto.Role.RESPONDER, env.random());
    }

    public IkeSaKeys keys() {
        return keys;
    }

    /**
     * Replaces the keys after an additional key exchange (RFC 9370 §2.2.2): the SK ciphers from
     * now on are made from {@code next}; the old keys and ciphers are zeroized.
     */
    public void updateKeys(IkeSaKeys next) {
        IkeSaKeys old = keys;
        if (previousCiphers != null) {
            previousCiphers.close();
        }
        previousCiphers = originalInitiator ? null : ciphers;
        if (originalInitiator) {
            ciphers.close();
        }
        keys(proposal, suite, next);
        old.close();
    }

    private void forgetPreviousCiphers() {
        if (previousCiphers != null) {
            previousCiphers.close();
            previousCiphers = null;
        }
    }

    /** The additional key exchanges (RFC 9370) IKE_SA_INIT negotiated, in the order they run. */
    public List<dev.keel.core.transform.KeyExchangeTransform> additionalKeyExchanges() {
        return additionalKeyExchanges;
    }

    public void additionalKeyExchanges(List<dev.keel.core.transform.KeyExchangeTransform> methods) {
        this.additionalKeyExchanges = List.copyOf(methods);
        this.additionalKeyExchangesDone = 0;
    }

    /** The next additional key exchange to run in IKE_INTERMEDIATE, or null when all are done. */
    public dev.keel.core.transform.KeyExchangeTransform nextAdditionalKeyExchange() {
        return additionalKeyExchangesDone < additionalKeyExchanges.size()
                ? additionalKeyExchanges.get(additionalKeyExchangesDone) : null;
    }

    /** One more additional key exchange is done (its keys are in place). */
    public void additionalKeyExchangeDone() {
        additionalKeyExchangesDone++;
    }

    /**
     * Folds one IKE_INTERMEDIATE message into IntAuth (RFC 9242 §3.3.2):
     * IntAuth_xN = prf(SK_px, IntAuth_x(N-1) | A | P), SK_px the key in force for that message
     * (SK_pi for the initiator's messages, SK_pr for the responder's).
     *
     * @param ofInitiator whether the initiator sent it
     * @param data        A | P of the message ({@link dev.keel.ike.message.IkeMessage#intermediateAuthData})
     */
    public void intermediateMessage(boolean ofInitiator, byte[] data) {
        byte[] previous = ofInitiator ? intAuthI : intAuthR;
        byte[] skP = ofInitiator ? keys.skPi() : keys.skPr();
        try {
            byte[] next = prf().compute(skP, previous == null ? data
                    : KeyDerivation.concatenate(previous, data));
            wipe(previous);
            if (ofInitiator) {
                intAuthI = next;
            } else {
                intAuthR = next;
            }
        } finally {
            wipe(skP);
        }
    }

    /**
     * What the AUTH payloads cover after the IKE_INTERMEDIATE exchanges (RFC 9242 §3.3.2):
     * IntAuth_iN | IntAuth_rN | IKE_AUTH_MID, the message ID of the IKE_AUTH request in 4
     * octets; empty when there were none.
     */
    public byte[] intAuth(long ikeAuthMessageId) {
        if (intAuthI == null || intAuthR == null) {
            return new byte[0];
        }
        byte[] mid = ByteBuffer.allocate(4).putInt((int) ikeAuthMessageId).array();
        return KeyDerivation.concatenate(intAuthI, intAuthR, mid);
    }

    /** When this IKE SA became established here, Unix epoch ms; 0 before, and for one taken over. */
    public long establishedAtMillis() {
        return establishedAtMillis;
    }

    /** The identity the peer authenticated with, or null (not yet, or taken over from another node). */
    public IkeIdentity peerIdentity() {
        return peerIdentity;
    }

    /** Records the identity the peer authenticated with in IKE_AUTH. */
    public void peerIdentity(IkeIdentity id) {
        this.peerIdentity = id;
    }

    /** The hash algorithms the peer announced in SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4). */
    public List<Integer> peerSignatureHashes() {
        return peerSignatureHashes;
    }

    public void peerSignatureHashes(List<Integer> ids) {
        this.peerSignatureHashes = List.copyOf(ids);
    }

    /** True once a task noted a failure in the exchange under way. */
    public boolean hasFailed() {
        return failureReason != null;
    }

    /** The CHILD SAs now, in the order they were made. */
    public List<ChildSa> children() {
        return childSas.list();
    }

    /** The CHILD SAs of this IKE SA, to add, find, mark and remove them. */
    public ChildSas childSas() {
        return childSas;
    }

    /**
     * This IKE SA's state as the SAD keeps it (docs/ha.md, "IKE SA failover"); on its thread.
     * The keys object is this IKE SA's own: read it before this IKE SA can go away.
     */
    public IkeSaSnapshot snapshot() {
        if (predecessor != null && !predecessor.isAlive()) {
            predecessor = null;
        }
        return new IkeSaSnapshot(connection.name(), originalInitiator, spiI, spiR, endpoints.remote(),
                endpoints.localPort(), endpoints.natHere(), endpoints.natThere(), proposal, keys,
                tasks.nextRequestId(), tasks.expectedRequestId(), tasks.requestInFlight(), tasks.inFlightRekeyedChild(),
                tasks.inFlightNewChild(), tasks.lastResponseId(), tasks.lastResponse(), peerMessageIdSync, mobike,
                childSas.snapshot(), successor != null, state == IkeSaState.DELETING && successor == null,
                predecessor == null ? 0 : predecessor.spiI, predecessor == null ? 0 : predecessor.spiR,
                establishedAtMillis);
    }

    /**
     * Makes this IKE SA, new and filed by the engine under its SPI, the one {@code s} describes: an
     * IKE SA another node established and stored, taken over with its keys, message IDs, cached
     * response, endpoints and CHILD SAs (their timers are the engine's). Established, or being
     * deleted when {@code s} was replaced or deleting.
     */
    public void restore(IkeSaSnapshot s, IkeConnection c) {
        connection = c;
        endpoints.carryOn(s.remote(), s.localPort(), s.natHere(), s.natThere());
        peerMessageIdSync = s.peerMessageIdSync();
        mobike = s.mobike();
        establishedAtMillis = s.establishedAtMillis();
        keys(s.proposal(), IkeSuite.from(s.proposal()), s.keys());
        childSas.restore(s.children());
        tasks.restore(s.nextRequestId(), s.expectedRequestId(), s.lastResponseId(), s.lastResponse());
        barrier.storeFromNowOn();
        state = s.replaced() || s.deleting() ? IkeSaState.DELETING : IkeSaState.ESTABLISHED;
        lastInboundMillis = timers.nowMillis();
    }

    /** True when the peer announced IKEV2_MESSAGE_ID_SYNC_SUPPORTED in IKE_AUTH (RFC 6311). */
    public boolean peerMessageIdSync() {
        return peerMessageIdSync;
    }

    public void peerMessageIdSync(boolean announced) {
        this.peerMessageIdSync = announced;
    }

    // ---- rekeying ----

    /** How this IKE SA's replacement is made when it is rekeyed (the engine's part). */
    public void successors(Successors s) {
        this.successors = s;
    }

    /** A fresh local IKE SPI for the IKE SA that will replace this one (RFC 7296 §2.18). */
    public long newIkeSpi() {
        return successors.newSpi();
    }

    /**
     * Creates the IKE SA that replaces this one after a rekey (RFC 7296 §2.18): same peer,
     * endpoints and connection, new SPIs and keys, message IDs from 0, and this SA's CHILD SAs
     * moved over without delete/establish events. This SA stops taking new work.
     *
     * @param originalInitiator true on the side that initiated the rekey (it becomes the new SA's
     *                          original initiator, RFC 7296 §2.18)
     */
    public IkeSa replaceWith(boolean originalInitiator, long spiI, long spiR, Proposal negotiated, IkeSuite newSuite,
            IkeSaKeys newKeys, byte[] newNi, byte[] newNr) {
        IkeSa next = newIkeSa(originalInitiator, spiI, spiR, negotiated, newSuite, newKeys, newNi, newNr);
        handOver(next);
        return next;
    }

    /**
     * Creates, like {@link #replaceWith}, a new IKE SA of a rekey that collided with the peer's
     * (RFC 7296 §2.8.2): filed and stored, but this SA keeps its CHILD SAs until the nonces say
     * which new IKE SA survives ({@link #handOver}); the other is deleted by the side that made it.
     */
    public IkeSa rekeyCandidate(boolean originalInitiator, long spiI, long spiR, Proposal negotiated,
            IkeSuite newSuite, IkeSaKeys newKeys, byte[] newNi, byte[] newNr) {
        IkeSa next = newIkeSa(originalInitiator, spiI, spiR, negotiated, newSuite, newKeys, newNi, newNr);
        LOG.info("{} rekey collision: {} made, the nonces decide whether it survives", this, next);
        barrier.awaitAlso(next.barrier.makeDurable());
        return next;
    }

    private IkeSa newIkeSa(boolean originalInitiator, long spiI, long spiR, Proposal negotiated, IkeSuite newSuite,
            IkeSaKeys newKeys, byte[] newNi, byte[] newNr) {
        IkeSa next = successors.create(this, originalInitiator, spiI, spiR);
        next.connection = connection;
        next.endpoints.carryOn(endpoints.remote(), endpoints.localPort(), endpoints.natHere(), endpoints.natThere());
        next.peerSignatureHashes = peerSignatureHashes;
        next.nonces(newNi, newNr);
        next.keys(negotiated, newSuite, newKeys);
        next.state = IkeSaState.ESTABLISHED;
        next.establishedAtMillis = timers.epochMillis();
        next.peerIdentity = peerIdentity;
        next.barrier.storeFromNowOn();
        next.peerMessageIdSync = peerMessageIdSync;
        next.mobike = mobike;
        next.fragmentation.inherit(fragmentation);
        next.predecessor = this;
        next.reauthAtMillis = reauthAtMillis; // a rekey does not authenticate anew (strongSwan keeps the time too)
        return next;
    }

    /**
     * Makes {@code next}, a new IKE SA of this one's rekey, its replacement: this SA's CHILD SAs
     * move over, and this SA stops taking new work and waits for its delete.
     */
    public void handOver(IkeSa next) {
        childSas.moveTo(next.childSas);
        successor = next;
        state = IkeSaState.DELETING;
        LOG.info("{} rekeyed, replaced by {}", this, next);
        tasks.moveQueuedTo(next); // a CHILD SA's Delete queued here would find nothing on the peer's side
        env.events().ikeRekeyed(this, next);
        // the exchange under way ends once the replacement is stored, before this SA's own state says it was replaced
        barrier.awaitAlso(next.barrier.makeDurable());
    }

    /** The IKE SA that replaced this one after a rekey, or null. */
    public IkeSa successor() {
        return successor;
    }

    /** This SA or, after rekeys, the IKE SA that now holds its CHILD SAs. */
    public IkeSa current() {
        IkeSa sa = this;
        while (sa.successor != null) {
            sa = sa.successor;
        }
        return sa;
    }

    /** When the engine rekeys this IKE SA (its {@code rekey_time}), Unix epoch ms; 0: not scheduled. */
    public long rekeyAtMillis() {
        return rekeyAtMillis;
    }

    /**
     * When the engine deletes this IKE SA unless it was rekeyed or reauthenticated (the earlier of
     * the two + {@code over_time}), Unix epoch ms; 0: never.
     */
    public long expireAtMillis() {
        return expireAtMillis;
    }

    /**
     * When the engine reauthenticates this IKE SA (its {@code reauth_time}, or its predecessor's
     * before a rekey), Unix epoch ms; 0: not scheduled.
     */
    public long reauthAtMillis() {
        return reauthAtMillis;
    }

    /**
     * Records the deadlines the engine scheduled (for listings) and their timers, which are
     * cancelled when this IKE SA ends. On this IKE SA's thread.
     */
    public void deadlines(long rekeyAt, long reauthAt, long expireAt, IkeTimers.Cancellable... timers) {
        this.rekeyAtMillis = rekeyAt;
        this.reauthAtMillis = reauthAt;
        this.expireAtMillis = expireAt;
        cancelLifetimeTimers();
        lifetimeTimers.addAll(java.util.List.of(timers));
    }

    private void cancelLifetimeTimers() {
        lifetimeTimers.forEach(IkeTimers.Cancellable::cancel);
        lifetimeTimers.clear();
    }

    /** True while we rekey this IKE SA. */
    public boolean ikeRekeying() {
        return ikeRekeying;
    }

    public void ikeRekeying(boolean on) {
        this.ikeRekeying = on;
    }

    /** Monotonic milliseconds of the last authenticated message from the peer. */
    public long lastInboundMillis() {
        return lastInboundMillis;
    }

    @Override
    public String toString() {
        // built by hand: String.format here was a tenth of the responder's CPU in the setup-rate benchmark
        return new StringBuilder(56).append("IKE_SA[").append(connection == null ? "?" : connection.name()).append(' ')
                .append(ChildSa.hex(spiI, 16)).append("_i ").append(ChildSa.hex(spiR, 16)).append("_r]").toString();
    }
}
