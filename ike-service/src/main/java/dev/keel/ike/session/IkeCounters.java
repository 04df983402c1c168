package dev.keel.ike.session;

import dev.keel.ike.message.IkeDecodeResult;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Counters of the IKE engine that tests and metrics read: outcomes and drops by reason. */
public final class IkeCounters {

    private final Map<IkeDecodeResult.Reason, LongAdder> dropped = new EnumMap<>(IkeDecodeResult.Reason.class);
    private final LongAdder noSa = new LongAdder();
    private final LongAdder staleResponse = new LongAdder();
    private final LongAdder retransmittedRequest = new LongAdder();
    private final LongAdder retransmissions = new LongAdder();
    private final LongAdder unexpectedMessageId = new LongAdder();
    private final LongAdder cookiesSent = new LongAdder();
    private final LongAdder halfOpenRefused = new LongAdder();
    private final LongAdder established = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder childrenEstablished = new LongAdder();

    /** Counters at zero. */
    public IkeCounters() {
        for (IkeDecodeResult.Reason r : IkeDecodeResult.Reason.values()) {
            dropped.put(r, new LongAdder());
        }
    }

    /** A message dropped for {@code reason}. */
    public void dropped(IkeDecodeResult.Reason reason) {
        dropped.get(reason).increment();
    }

    void noSa() {
        noSa.increment();
    }

    /** A response that matched no outstanding request. */
    public void staleResponse() {
        staleResponse.increment();
    }

    /** A retransmitted request answered from the response cache. */
    public void retransmittedRequest() {
        retransmittedRequest.increment();
    }

    /** One of our requests sent again after its retransmission timeout. */
    public void retransmission() {
        retransmissions.increment();
    }

    /** A request outside the window. */
    public void unexpectedMessageId() {
        unexpectedMessageId.increment();
    }

    void cookieSent() {
        cookiesSent.increment();
    }

    void halfOpenRefused() {
        halfOpenRefused.increment();
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

    /** Messages for an IKE SA we do not have. */
    public long noSaCount() {
        return noSa.sum();
    }

    /** Requests answered again from the cache. */
    public long retransmittedRequests() {
        return retransmittedRequest.sum();
    }

    /** Our requests sent again because no response came in time. */
    public long retransmissionCount() {
        return retransmissions.sum();
    }

    /** Responses that matched nothing. */
    public long staleResponses() {
        return staleResponse.sum();
    }

    /** Requests outside the window. */
    public long unexpectedMessageIds() {
        return unexpectedMessageId.sum();
    }

    /** COOKIE notifies sent. */
    public long cookiesSent() {
        return cookiesSent.sum();
    }

    /** IKE_SA_INIT requests refused because too many IKE SAs were half open. */
    public long halfOpenRefusedCount() {
        return halfOpenRefused.sum();
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
