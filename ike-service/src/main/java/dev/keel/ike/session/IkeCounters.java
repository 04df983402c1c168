package dev.keel.ike.session;

import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeDecodeResult;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Counters of the IKE engine that tests and metrics read: outcomes, exchanges, rekeys and drops by reason. */
public final class IkeCounters {

    private final Map<IkeDecodeResult.Reason, LongAdder> dropped = new EnumMap<>(IkeDecodeResult.Reason.class);
    private final Map<IkeDrop, LongAdder> refused = new EnumMap<>(IkeDrop.class);
    private final LongAdder halfOpenTimeouts = new LongAdder();
    private final LongAdder retransmittedRequest = new LongAdder();
    private final LongAdder retransmissions = new LongAdder();
    private final LongAdder cookiesSent = new LongAdder();
    private final LongAdder established = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder childrenEstablished = new LongAdder();
    private final LongAdder adopted = new LongAdder();
    private final LongAdder messageIdSyncs = new LongAdder();
    private final LongAdder messageIdSyncsAnswered = new LongAdder();
    /** Exchanges completed, by type and our role in them: [type][0 responder, 1 initiator]. */
    private final LongAdder[][] exchanges = adders(ExchangeType.values().length, 2);
    /** Exchanges failed, by type and cause: [type][cause]. */
    private final LongAdder[][] exchangeFailures = adders(ExchangeType.values().length, IkeFailure.values().length);
    private final LongAdder ikeRekeys = new LongAdder();
    private final LongAdder childRekeys = new LongAdder();

    /** Counters at zero. */
    public IkeCounters() {
        for (IkeDecodeResult.Reason r : IkeDecodeResult.Reason.values()) {
            dropped.put(r, new LongAdder());
        }
        for (IkeDrop d : IkeDrop.values()) {
            refused.put(d, new LongAdder());
        }
    }

    private static LongAdder[][] adders(int rows, int columns) {
        LongAdder[][] a = new LongAdder[rows][columns];
        for (LongAdder[] row : a) {
            for (int i = 0; i < columns; i++) {
                row[i] = new LongAdder();
            }
        }
        return a;
    }

    /** An exchange of {@code type} completed: our request answered, or the peer's request answered by us. */
    public void exchange(ExchangeType type, boolean initiator) {
        exchanges[type.ordinal()][initiator ? 1 : 0].increment();
    }

    /** An exchange of {@code type} failed for {@code cause}. */
    public void exchangeFailed(ExchangeType type, IkeFailure cause) {
        exchangeFailures[type.ordinal()][cause.ordinal()].increment();
    }

    /** An IKE SA was rekeyed (RFC 7296 §2.18). */
    public void ikeRekeyed() {
        ikeRekeys.increment();
    }

    /** A CHILD SA was rekeyed (RFC 7296 §2.8). */
    public void childRekeyed() {
        childRekeys.increment();
    }

    /** Exchanges of {@code type} completed in the role given. */
    public long exchangeCount(ExchangeType type, boolean initiator) {
        return exchanges[type.ordinal()][initiator ? 1 : 0].sum();
    }

    /** Exchanges of {@code type} that failed for {@code cause}. */
    public long exchangeFailureCount(ExchangeType type, IkeFailure cause) {
        return exchangeFailures[type.ordinal()][cause.ordinal()].sum();
    }

    /** IKE SAs rekeyed. */
    public long ikeRekeyCount() {
        return ikeRekeys.sum();
    }

    /** CHILD SAs rekeyed. */
    public long childRekeyCount() {
        return childRekeys.sum();
    }

    /** A message dropped for {@code reason}. */
    public void dropped(IkeDecodeResult.Reason reason) {
        dropped.get(reason).increment();
    }

    /** A decoded message (or a new IKE_SA_INIT) not processed, for {@code reason}. */
    public void dropped(IkeDrop reason) {
        refused.get(reason).increment();
    }

    /** A half-open IKE SA ended because it did not authenticate in time. */
    public void halfOpenTimeout() {
        halfOpenTimeouts.increment();
    }

    /** A retransmitted request answered from the response cache. */
    public void retransmittedRequest() {
        retransmittedRequest.increment();
    }

    /** One of our requests sent again after its retransmission timeout. */
    public void retransmission() {
        retransmissions.increment();
    }

    /** A COOKIE notify sent instead of making a half-open IKE SA. */
    public void cookieSent() {
        cookiesSent.increment();
    }

    /** An IKE SA taken over from another node (docs/ha.md). */
    public void adopted() {
        adopted.increment();
    }

    /** An RFC 6311 message ID sync started after a takeover. */
    public void messageIdSync() {
        messageIdSyncs.increment();
    }

    /** An RFC 6311 message ID sync of the peer's answered. */
    public void messageIdSyncAnswered() {
        messageIdSyncsAnswered.increment();
    }

    /** IKE SAs taken over from another node. */
    public long adoptedCount() {
        return adopted.sum();
    }

    /** RFC 6311 message ID syncs started after takeovers. */
    public long messageIdSyncCount() {
        return messageIdSyncs.sum();
    }

    /** RFC 6311 message ID syncs of peers answered. */
    public long messageIdSyncsAnsweredCount() {
        return messageIdSyncsAnswered.sum();
    }

    void established() {
        established.increment();
    }

    void failed() {
        failed.increment();
    }

    void childEstablished() {
        childrenEstablished.increment();
    }

    /** Messages dropped for {@code reason}. */
    public long droppedCount(IkeDecodeResult.Reason reason) {
        return dropped.get(reason).sum();
    }

    /** Messages not processed for {@code reason}. */
    public long droppedCount(IkeDrop reason) {
        return refused.get(reason).sum();
    }

    /** Half-open IKE SAs ended by {@code half_open_timeout}. */
    public long halfOpenTimeoutCount() {
        return halfOpenTimeouts.sum();
    }

    /** Requests answered again from the cache. */
    public long retransmittedRequests() {
        return retransmittedRequest.sum();
    }

    /** Our requests sent again because no response came in time. */
    public long retransmissionCount() {
        return retransmissions.sum();
    }

    /** COOKIE notifies sent. */
    public long cookiesSent() {
        return cookiesSent.sum();
    }

    /** IKE SAs that reached ESTABLISHED. */
    public long establishedCount() {
        return established.sum();
    }

    /** IKE SAs torn down by a failure. */
    public long failedCount() {
        return failed.sum();
    }

    /** CHILD SAs negotiated. */
    public long childrenEstablishedCount() {
        return childrenEstablished.sum();
    }
}
