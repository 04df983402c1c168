package dev.keel.ike.task;

import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.session.IkeSa;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * The plumbing of one IKE SA's exchanges (RFC 7296 §2.1–2.3, window size 1; strongSwan's
 * task_manager_v2): queued exchanges we will initiate, the one request we have outstanding with
 * its retransmissions, the message IDs in both directions, and the last response we sent, which
 * a retransmitted request gets again instead of being processed twice.
 *
 * <p>Runs on the IKE SA's thread only.
 */
public final class TaskManager {

    /** An exchange this side initiates: its type and the tasks that build it, in payload order. */
    public record Exchange(ExchangeType type, List<Task> tasks) {
        /** Copies the tasks. */
        public Exchange {
            tasks = List.copyOf(tasks);
        }
    }

    /** Makes the responder tasks for a request the peer initiated. */
    @FunctionalInterface
    public interface ResponderTasks {
        /** The tasks that answer a request of type {@code type}, in payload order; empty to refuse it. */
        List<Task> forRequest(IkeSa sa, ExchangeType type);
    }

    private final IkeSa sa;
    private final RetransmitPolicy retransmit;
    private final ResponderTasks responderTasks;
    private final Deque<Exchange> queued = new ArrayDeque<>();

    private Exchange active;
    private byte[] activeRequest;
    private int attempts;
    private IkeTimers.Cancellable retransmitTimer;
    private long nextRequestId;
    private long expectedRequestId;
    private long lastResponseId = -1;
    private byte[] lastRequest;
    private byte[] lastResponse;

    /** A task manager for {@code sa}. */
    public TaskManager(IkeSa sa, RetransmitPolicy retransmit, ResponderTasks responderTasks) {
        this.sa = sa;
        this.retransmit = retransmit;
        this.responderTasks = responderTasks;
    }

    /** Queues an exchange to initiate after those already queued, and starts it when idle. */
    public void queue(ExchangeType type, Task... tasks) {
        queued.addLast(new Exchange(type, List.of(tasks)));
        initiateNext();
    }

    /** True when a request of ours is unanswered. */
    public boolean busy() {
        return active != null;
    }

    /** Exchanges waiting behind the active one. */
    public int queuedCount() {
        return queued.size();
    }

    /** The message ID our next request will carry. */
    public long nextRequestId() {
        return nextRequestId;
    }

    /** The message ID we expect on the peer's next request. */
    public long expectedRequestId() {
        return expectedRequestId;
    }

    private void initiateNext() {
        if (active != null || queued.isEmpty() || !sa.isAlive()) {
            return;
        }
        active = queued.pollFirst();
        OutboundMessage request = new OutboundMessage(active.type(), false);
        for (Task task : active.tasks()) {
            if (task.build(request) == Task.Status.FAILED) {
                fail("could not build " + active.type() + " request");
                return;
            }
        }
        activeRequest = sa.encode(request, nextRequestId);
        if (active.type() == ExchangeType.IKE_SA_INIT) {
            sa.recordInit(activeRequest, false);
        }
        attempts = 0;
        transmit();
    }

    private void transmit() {
        sa.send(activeRequest);
        retransmitTimer = sa.timers().schedule(retransmit.delayAfter(attempts), this::onRetransmitTimeout);
    }

    private void onRetransmitTimeout() {
        if (active == null || !sa.isAlive()) {
            return;
        }
        if (attempts >= retransmit.tries()) {
            fail(active.type() + " request " + nextRequestId + " unanswered after " + (attempts + 1) + " sends");
            return;
        }
        attempts++;
        sa.counters().retransmission();
        transmit();
    }

    /**
     * Handles a decoded response: matched against the outstanding request by message ID
     * (anything else is a stale or forged response and dropped, §2.3), then processed by the
     * exchange's tasks.
     */
    public void onResponse(IkeMessage response) {
        if (active == null || response.header().messageId() != nextRequestId) {
            sa.counters().staleResponse();
            return;
        }
        cancelRetransmit();
        Exchange done = active;
        active = null;
        activeRequest = null;
        nextRequestId++;
        List<Task> again = new ArrayList<>();
        for (Task task : done.tasks()) {
            Task.Status status = task.process(response);
            if (status == Task.Status.FAILED) {
                fail(done.type() + " failed");
                return;
            }
            if (status == Task.Status.NEED_MORE) {
                again.add(task);
            }
        }
        if (!again.isEmpty()) {
            if (done.type() == ExchangeType.IKE_SA_INIT) {
                nextRequestId = 0; // a retried IKE_SA_INIT (cookie, other group) starts over, §2.6, §1.2
            }
            queued.addFirst(new Exchange(done.type(), done.tasks()));
        }
        initiateNext();
    }

    /**
     * Handles a request from the peer. The next expected message ID is processed; the one before
     * it is a retransmission and gets the cached response again (§2.1); anything else is dropped.
     *
     * @param rawRequest the datagram as received, to recognize a retransmitted IKE_SA_INIT
     */
    public void onRequest(IkeMessage request, byte[] rawRequest) {
        long id = request.header().messageId();
        if (id == lastResponseId && lastResponse != null) {
            if (request.header().exchange() != ExchangeType.IKE_SA_INIT || Arrays.equals(rawRequest, lastRequest)) {
                sa.counters().retransmittedRequest();
                sa.send(lastResponse);
            }
            return;
        }
        if (id != expectedRequestId) {
            sa.counters().unexpectedMessageId();
            return;
        }
        ExchangeType type = request.header().exchange();
        List<Task> tasks = responderTasks.forRequest(sa, type);
        OutboundMessage response = new OutboundMessage(type, true);
        boolean failed = false;
        for (Task task : tasks) {
            failed |= task.process(request) == Task.Status.FAILED;
        }
        for (Task task : tasks) {
            failed |= task.build(response) == Task.Status.FAILED;
        }
        byte[] encoded = sa.encode(response, id);
        if (type == ExchangeType.IKE_SA_INIT) {
            sa.recordInit(encoded, true);
        }
        lastRequest = type == ExchangeType.IKE_SA_INIT ? rawRequest.clone() : null;
        lastResponse = encoded;
        lastResponseId = id;
        expectedRequestId = id + 1;
        sa.send(encoded);
        if (failed) {
            sa.destroy(type + " request failed; answered " + describeErrors(response));
        }
    }

    /**
     * Answers a request whose ICV verified but whose payloads are in error with that error
     * notify (RFC 7296 §2.21.2: INVALID_SYNTAX, UNSUPPORTED_CRITICAL_PAYLOAD), using up its
     * message ID so that a retransmission gets the same answer.
     */
    public void answerWithError(IkeHeader request, NotifyType error, byte[] data) {
        if (request.isResponse() || request.messageId() != expectedRequestId) {
            sa.counters().unexpectedMessageId();
            return;
        }
        OutboundMessage response = new OutboundMessage(request.exchange(), true).onlyError(error, data);
        lastResponse = sa.encode(response, request.messageId());
        lastRequest = null;
        lastResponseId = request.messageId();
        expectedRequestId = lastResponseId + 1;
        sa.send(lastResponse);
    }

    private static String describeErrors(OutboundMessage m) {
        return m.payloads().stream().filter(p -> p instanceof NotifyPayload n && n.isError())
                .map(p -> ((NotifyPayload) p).notifyType().toString()).toList().toString();
    }

    private void fail(String reason) {
        cancelRetransmit();
        active = null;
        queued.clear();
        sa.destroy(reason);
    }

    /** Stops retransmitting and forgets queued work; the IKE SA is going away. */
    public void shutdown() {
        cancelRetransmit();
        active = null;
        queued.clear();
        lastResponse = null;
        lastRequest = null;
    }

    private void cancelRetransmit() {
        if (retransmitTimer != null) {
            retransmitTimer.cancel();
            retransmitTimer = null;
        }
    }
}
