package dev.keel.ike.session;

import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;

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
    private byte[] lastResponse;
    /** The last response waits for CHILD SA installs before it leaves (DESIGN §4). */
    private boolean responseHeld;
    /** Our next request waits for the installs of CHILD SAs the last response made. */
    private boolean requestsHeld;
    /** Tasks are processing a response: what they queue starts after they all ran (and installed). */
    private boolean inResponse;
    private String unauthenticatedError;

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

    /** The tasks of our request in flight, empty when none is. */
    public List<Task> activeTasks() {
        return active == null ? List.of() : active.tasks();
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
        if (active != null || requestsHeld || inResponse || queued.isEmpty() || !sa.isAlive()) {
            return;
        }
        active = queued.pollFirst();
        unauthenticatedError = null;
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
        if (unauthenticatedError != null) {
            // RFC 7296 §2.4: the error was not conclusive, but no valid response came in a whole interval either
            fail("peer answered " + active.type() + " with " + unauthenticatedError
                    + " (unauthenticated; no valid response in " + (attempts + 1) + " sends)");
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
     * Handles a decoded response: matched against the outstanding request by message ID and
     * exchange type (anything else is a stale or forged response and dropped, §2.3), then
     * processed by the exchange's tasks.
     *
     * @return true when it answered our outstanding request (the peer is alive)
     */
    public boolean onResponse(IkeMessage response) {
        if (active == null || response.header().messageId() != nextRequestId
                || response.header().exchange() != active.type()) {
            sa.counters().dropped(IkeDrop.STALE_RESPONSE);
            return false;
        }
        if (!response.isProtected()) {
            String error = inconclusiveError(response);
            if (error != null) {
                // RFC 7296 §2.4: an unprotected error may be forged; keep waiting for a valid answer until the next timeout
                unauthenticatedError = error;
                sa.counters().dropped(IkeDrop.UNAUTHENTICATED_ERROR);
                return false;
            }
        }
        cancelRetransmit();
        unauthenticatedError = null;
        Exchange done = active;
        active = null;
        activeRequest = null;
        nextRequestId++;
        List<Task> again = new ArrayList<>();
        inResponse = true;
        try {
            for (Task task : done.tasks()) {
                Task.Status status = task.process(response);
                if (status == Task.Status.FAILED) {
                    fail(done.type() + " failed");
                    return true;
                }
                if (status == Task.Status.NEED_MORE) {
                    again.add(task);
                }
            }
        } finally {
            inResponse = false;
        }
        if (!again.isEmpty()) {
            if (done.type() == ExchangeType.IKE_SA_INIT) {
                nextRequestId = 0; // a retried IKE_SA_INIT (cookie, other group) starts over, §2.6, §1.2
            }
            queued.addFirst(new Exchange(done.type(), done.tasks()));
        }
        CompletableFuture<?> installs = sa.takeInstalls();
        if (installs == null) {
            initiateNext();
        } else { // e.g. a rekey's Delete of the old SA goes only once the new one carries traffic
            requestsHeld = true;
            installs.whenComplete((v, e) -> sa.timers().execute(() -> {
                requestsHeld = false;
                initiateNext();
            }));
        }
        return true;
    }

    /**
     * The error notify of an unprotected response that does not end the exchange at once: every
     * error type but INVALID_KE_PAYLOAD (§1.2) and COOKIE (§2.6, a status type), which the
     * initiator acts on as the RFC says; null when there is none.
     */
    private static String inconclusiveError(IkeMessage response) {
        for (NotifyPayload n : response.payloads(NotifyPayload.class)) {
            if (n.isError() && n.notifyTypeValue() != NotifyType.INVALID_KE_PAYLOAD.value()) {
                return n.notifyType() != null ? n.notifyType().toString() : "error notify " + n.notifyTypeValue();
            }
        }
        return null;
    }

    /**
     * Handles a request from the peer that arrived from {@code from} on our port {@code localPort}.
     * The next expected message ID is processed; the one before it is a retransmission and gets
     * the cached response again, sent where it came from (§2.1, §2.11); anything else is dropped.
     * Only a new request tells the IKE SA where the peer is now ({@link IkeSa#requestAccepted}).
     */
    public void onRequest(IkeMessage request, InetSocketAddress from, int localPort) {
        long id = request.header().messageId();
        if (id == lastResponseId && lastResponse != null) {
            if (responseHeld) { // it leaves as soon as its CHILD SAs are installed
                sa.counters().dropped(IkeDrop.RESPONSE_PENDING);
                return;
            }
            sa.counters().retransmittedRequest();
            sa.sendTo(lastResponse, from, localPort);
            return;
        }
        if (id != expectedRequestId) {
            sa.counters().dropped(IkeDrop.UNEXPECTED_MESSAGE_ID);
            return;
        }
        sa.requestAccepted(request, from, localPort);
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
        lastResponse = encoded;
        lastResponseId = id;
        expectedRequestId = id + 1;
        if (failed) {
            sa.send(encoded);
            sa.destroy(type + " request failed; answered " + describeErrors(response));
            return;
        }
        CompletableFuture<?> installs = sa.takeInstalls();
        if (installs == null) {
            sa.send(encoded);
            return;
        }
        responseHeld = true; // DESIGN §4: the peer may use a CHILD SA as soon as this response arrives
        installs.whenComplete((v, e) -> sa.timers().execute(() -> {
            responseHeld = false;
            if (sa.isAlive() && lastResponse == encoded) {
                sa.send(encoded);
            }
        }));
    }

    /**
     * Answers a request whose ICV verified but whose payloads are in error with that error
     * notify (RFC 7296 §2.21.2: INVALID_SYNTAX, UNSUPPORTED_CRITICAL_PAYLOAD), using up its
     * message ID so that a retransmission gets the same answer.
     */
    public void answerWithError(IkeHeader request, NotifyType error, byte[] data) {
        if (request.isResponse() || request.messageId() != expectedRequestId) {
            sa.counters().dropped(IkeDrop.UNEXPECTED_MESSAGE_ID);
            return;
        }
        OutboundMessage response = new OutboundMessage(request.exchange(), true).onlyError(error, data);
        lastResponse = sa.encode(response, request.messageId());
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
        unauthenticatedError = null;
        queued.clear();
        sa.destroy(reason);
    }

    /** Stops retransmitting and forgets queued work; the IKE SA is going away. */
    public void shutdown() {
        cancelRetransmit();
        active = null;
        queued.clear();
        lastResponse = null;
    }

    private void cancelRetransmit() {
        if (retransmitTimer != null) {
            retransmitTimer.cancel();
            retransmitTimer = null;
        }
    }
}
