package dev.keel.ike.session;

import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.IkePayload;
import dev.keel.ike.message.MessageIdSync;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
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

    /**
     * An exchange this side initiates: its type and the tasks that build it, in payload order;
     * {@code messageIdSync} for RFC 6311's synchronization, which goes with message ID 0 and
     * moves no message ID of its own.
     */
    public record Exchange(ExchangeType type, List<Task> tasks, boolean messageIdSync) {
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
    /** Message ID of our request in flight: {@link #nextRequestId}, or 0 for a message ID sync. */
    private long activeId;
    private OutboundMessage activeMessage;
    private byte[] activeRequest;
    private int attempts;
    private IkeTimers.Cancellable retransmitTimer;
    private long nextRequestId;
    private long expectedRequestId;
    private long lastResponseId = -1;
    private byte[] lastResponse;
    /** The exchange {@link #lastResponse} answered, when it was answered here (not restored in a takeover). */
    private ExchangeType lastResponseType;
    /** Of our CREATE_CHILD_SA request in flight: the CHILD SA it rekeys and our inbound SPI of the pair it makes (0: none). */
    private int inFlightRekeyedChild;
    private int inFlightNewChild;
    /** After a message ID sync answered while our request was in flight: our next ID once it is answered. */
    private long resumeRequestIdAt = -1;
    /** The last response waits until what its exchange changed is durable: CHILD SAs installed, state stored (DESIGN §4). */
    private boolean responseHeld;
    /** Our next request waits until what the last response changed is durable. */
    private boolean requestsHeld;
    /** What runs once the response being built has left (the IKE SA that a Delete ends goes then). */
    private final List<Runnable> afterResponse = new ArrayList<>(1);
    /** Tasks are processing a response: what they queue starts after they all ran (and installed). */
    private boolean inResponse;
    /** A request of the peer's is being processed and answered: the response is not out yet. */
    private boolean answering;
    private String unauthenticatedError;

    /** A task manager for {@code sa}. */
    public TaskManager(IkeSa sa, RetransmitPolicy retransmit, ResponderTasks responderTasks) {
        this.sa = sa;
        this.retransmit = retransmit;
        this.responderTasks = responderTasks;
    }

    /** Queues an exchange to initiate after those already queued, and starts it when idle. */
    public void queue(ExchangeType type, Task... tasks) {
        queued.addLast(new Exchange(type, List.of(tasks), false));
        initiateNext();
    }

    /**
     * Queues an exchange to initiate before every one already queued (IKE_INTERMEDIATE between
     * IKE_SA_INIT and the IKE_AUTH queued with it, RFC 9242 §3), and starts it when idle.
     */
    public void queueFirst(ExchangeType type, Task... tasks) {
        queued.addFirst(new Exchange(type, List.of(tasks), false));
        initiateNext();
    }

    /**
     * Puts RFC 6311's message ID synchronization, an INFORMATIONAL with message ID 0 built by
     * {@code task}, before every exchange queued; started when idle. Its task reports the outcome
     * through {@link #messageIdsSynchronized}.
     */
    public void queueMessageIdSync(Task task) {
        queued.addFirst(new Exchange(ExchangeType.INFORMATIONAL, List.of(task), true));
        initiateNext();
    }

    /**
     * After a message ID sync: our next request carries {@code nextRequest}, the peer's next one
     * {@code expectedRequest} (RFC 6311 §5.1, M2 and P2 of the peer's answer).
     */
    public void messageIdsSynchronized(long nextRequest, long expectedRequest) {
        nextRequestId = nextRequest;
        expectedRequestId = expectedRequest;
    }

    /** Restores message IDs and the cached response of an IKE SA taken over from another node. */
    void restore(long nextRequest, long expectedRequest, long lastResponseMessageId, byte[] response) {
        nextRequestId = nextRequest;
        expectedRequestId = expectedRequest;
        lastResponseId = response == null ? -1 : lastResponseMessageId;
        lastResponse = response;
    }

    /** Makes our next request skip one message ID (a takeover without RFC 6311: assume the peer saw the one in flight). */
    public void skipRequestId() {
        nextRequestId++;
    }

    /**
     * Runs {@code action} once the response being built has left: at once if it leaves at once,
     * else when what its exchange changed is durable. For a responder task's build.
     */
    public void afterResponse(Runnable action) {
        afterResponse.add(action);
    }

    /**
     * Moves the exchanges queued here, not yet started, whose tasks all move ({@link Task#movedTo})
     * to {@code next}, this IKE SA's replacement, in their order; the rest stay. While a response
     * is being built here (the peer's rekey), once it has left, so that the peer knows {@code next}
     * before our first request on it arrives.
     */
    public void moveQueuedTo(IkeSa next) {
        if (answering) {
            afterResponse.add(() -> moveQueuedTo(next));
            return;
        }
        for (Exchange e : List.copyOf(queued)) {
            if (e.messageIdSync()) {
                continue;
            }
            List<Task> moved = new ArrayList<>(e.tasks().size());
            for (Task t : e.tasks()) {
                Task m = t.movedTo(next);
                if (m == null) {
                    break;
                }
                moved.add(m);
            }
            if (moved.size() == e.tasks().size()) {
                queued.remove(e);
                next.tasks().queue(e.type(), moved.toArray(Task[]::new));
            }
        }
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

    /** True while a request of ours with {@link #nextRequestId} is built and may be on its way (a sync's excepted). */
    public boolean requestInFlight() {
        return active != null && !active.messageIdSync();
    }

    /**
     * Called by a CREATE_CHILD_SA request's task as it builds it: the inbound SPI of the CHILD SA it
     * rekeys (0 for a new one) and our inbound SPI of the pair it proposes. Stored with the request,
     * so that a node taking the IKE SA over can delete what the peer may have made of it.
     */
    public void childExchangeBuilt(int rekeyedInboundSpi, int newInboundSpi) {
        inFlightRekeyedChild = rekeyedInboundSpi;
        inFlightNewChild = newInboundSpi;
    }

    /** The CHILD SA our CREATE_CHILD_SA request in flight rekeys (its inbound SPI), else 0. */
    public int inFlightRekeyedChild() {
        return requestInFlight() ? inFlightRekeyedChild : 0;
    }

    /** Our inbound SPI of the pair our CREATE_CHILD_SA request in flight proposes, else 0. */
    public int inFlightNewChild() {
        return requestInFlight() ? inFlightNewChild : 0;
    }

    /** The message ID of the last response we sent, -1 when none. */
    public long lastResponseId() {
        return lastResponse == null ? -1 : lastResponseId;
    }

    /** The last response we sent, as sent, or null. */
    public byte[] lastResponse() {
        return lastResponse;
    }

    private void initiateNext() {
        if (active != null || requestsHeld || inResponse || queued.isEmpty() || !sa.isAlive()) {
            return;
        }
        active = queued.pollFirst();
        unauthenticatedError = null;
        activeId = active.messageIdSync() ? 0 : nextRequestId;
        inFlightRekeyedChild = 0;
        inFlightNewChild = 0;
        OutboundMessage request = new OutboundMessage(active.type(), false);
        for (Task task : active.tasks()) {
            if (task.build(request) == Task.Status.FAILED) {
                sa.counters().exchangeFailed(active.type(), IkeFailure.INTERNAL);
                fail("could not build " + active.type() + " request");
                return;
            }
        }
        activeMessage = request;
        activeRequest = sa.encode(request, activeId);
        if (active.type() == ExchangeType.IKE_SA_INIT) {
            sa.recordInit(activeRequest, false);
        }
        attempts = 0;
        // DESIGN §4: the SAD says this request may be out before it is; a new owner then synchronizes message IDs
        CompletableFuture<?> stored = active.messageIdSync() ? null : sa.barrier().makeDurable();
        if (stored == null) {
            transmit();
            return;
        }
        byte[] request0 = activeRequest;
        stored.whenComplete((v, e) -> sa.timers().execute(() -> {
            if (sa.isAlive() && activeRequest == request0) {
                transmit();
            }
        }));
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
            sa.counters().exchangeFailed(active.type(), IkeFailure.PEER_ERROR);
            fail("peer answered " + active.type() + " with " + unauthenticatedError
                    + " (unauthenticated; no valid response in " + (attempts + 1) + " sends)");
            return;
        }
        if (attempts >= retransmit.tries()) {
            sa.counters().exchangeFailed(active.type(), IkeFailure.TIMEOUT);
            String reason = "peer unreachable: " + active.type() + " request " + activeId + " unanswered after "
                    + (attempts + 1) + " sends";
            sa.noteFailure(IkeSa.FailureCause.UNANSWERED, reason);
            fail(reason, true);
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
        if (active == null || activeRequest == null || response.header().messageId() != activeId
                || response.header().exchange() != active.type() || !expected(response)) {
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
        activeMessage = null;
        if (!done.messageIdSync()) {
            nextRequestId = Math.max(nextRequestId + 1, resumeRequestIdAt);
            resumeRequestIdAt = -1;
        }
        sa.counters().exchange(done.type(), true);
        boolean peerError = hasErrorNotify(response.payloads(NotifyPayload.class));
        if (peerError) { // it failed whatever the tasks make of it (a CHILD SA refused, a group to retry with)
            sa.counters().exchangeFailed(done.type(), IkeFailure.PEER_ERROR);
        }
        List<Task> again = new ArrayList<>();
        inResponse = true;
        try {
            for (Task task : done.tasks()) {
                Task.Status status = task.process(response);
                if (status == Task.Status.FAILED) {
                    if (!peerError) {
                        sa.counters().exchangeFailed(done.type(), IkeFailure.BAD_RESPONSE);
                    }
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
            queued.addFirst(new Exchange(done.type(), done.tasks(), done.messageIdSync()));
        }
        // e.g. a rekey's Delete of the old SA goes only once the new one carries traffic (it is queued
        // only then); a request that follows at once stores the state itself, before it leaves
        holdRequestsUntil(sa.barrier().takeInstalls(), () -> {
            if (queued.isEmpty()) {
                holdRequestsUntil(sa.barrier().makeDurable(), this::initiateNext);
            } else {
                initiateNext();
            }
        });
        return true;
    }

    private boolean expected(IkeMessage response) {
        for (Task t : active.tasks()) {
            if (!t.expects(response)) {
                return false;
            }
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
        if (id == 0 && isMessageIdSync(request)) { // before the retransmission check: 0 may be a real ID too
            onMessageIdSync(request, from, localPort);
            return;
        }
        if (answerRetransmission(id, from, localPort)) {
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
        answering = true;
        try {
            for (Task task : tasks) {
                failed |= task.process(request) == Task.Status.FAILED;
            }
            for (Task task : tasks) {
                failed |= task.build(response) == Task.Status.FAILED;
            }
        } finally {
            answering = false;
        }
        byte[] encoded = sa.encode(response, id);
        if (type == ExchangeType.IKE_SA_INIT) {
            sa.recordInit(encoded, true);
        }
        lastResponse = encoded;
        lastResponseId = id;
        lastResponseType = type;
        expectedRequestId = id + 1;
        sa.counters().exchange(type, false);
        if (failed || hasErrorNotify(response.payloads())) {
            sa.counters().exchangeFailed(type, IkeFailure.REFUSED);
        }
        if (failed) {
            afterResponse.clear();
            sa.send(encoded);
            sa.destroy(type + " request failed; answered " + describeErrors(response));
            return;
        }
        // §2.11: the response goes where the request came from, which with MOBIKE need not be where the IKE SA is
        // (RFC 4555 §3.5: only UPDATE_SA_ADDRESSES moves it)
        boolean elsewhere = !from.equals(sa.endpoints().remote()) || localPort != sa.endpoints().localPort();
        sendWhenDurable(encoded, elsewhere ? from : null, localPort, null);
    }

    /**
     * When {@code id} is the request we answered last, sends that response again where the
     * retransmission came from (§2.1, §2.11), unless it still waits for its CHILD SAs; true when
     * {@code id} was that request.
     */
    boolean answerRetransmission(long id, InetSocketAddress from, int localPort) {
        if (id != lastResponseId || lastResponse == null) {
            return false;
        }
        if (responseHeld) { // it leaves as soon as its CHILD SAs are installed
            sa.counters().dropped(IkeDrop.RESPONSE_PENDING);
        } else {
            sa.counters().retransmittedRequest();
            sa.sendTo(lastResponse, from, localPort);
        }
        return true;
    }

    /** The message ID of the response we wait for, or -1 when no request of ours is out. */
    long awaitedResponseId() {
        return active != null && activeRequest != null ? activeId : -1;
    }

    /**
     * Sends a response once what its exchange changed is durable (DESIGN §4: the peer may use a
     * CHILD SA, and expects the exchange's effects, as soon as it arrives), then runs {@code then}
     * if given; meanwhile retransmitted requests are held back. To {@code to} from {@code fromPort}
     * when given, else to the peer.
     */
    private void sendWhenDurable(byte[] encoded, InetSocketAddress to, int fromPort, Runnable then) {
        List<Runnable> after = List.copyOf(afterResponse);
        afterResponse.clear();
        long id = lastResponseId;
        CompletableFuture<?> durable = sa.barrier().makeDurable();
        if (durable == null) {
            sent(to != null ? encoded : lastResponse, to, fromPort, then, after);
            return;
        }
        responseHeld = true;
        durable.whenComplete((v, e) -> sa.timers().execute(() -> {
            responseHeld = false;
            // our response, or what replaced it meanwhile (replaceHeldResponse), unless a later one did
            byte[] out = to != null ? encoded : lastResponseId == id ? lastResponse : null;
            if (sa.isAlive() && out != null) {
                sent(out, to, fromPort, then, after);
            }
        }));
    }

    /**
     * Replaces the response that waits for its exchange's CHILD SAs ({@link #sendWhenDurable}) by
     * one with only the notify {@code error}: a CHILD SA it carried could not be installed.
     */
    public void replaceHeldResponse(NotifyType error) {
        OutboundMessage m = new OutboundMessage(lastResponseType, true);
        m.onlyError(error, new byte[0]);
        lastResponse = sa.encode(m, lastResponseId);
        sa.counters().exchangeFailed(lastResponseType, IkeFailure.REFUSED);
    }

    private void holdRequestsUntil(CompletableFuture<?> f, Runnable next) {
        if (f == null) {
            next.run();
            return;
        }
        requestsHeld = true;
        f.whenComplete((v, e) -> sa.timers().execute(() -> {
            requestsHeld = false;
            next.run();
        }));
    }

    private void sent(byte[] encoded, InetSocketAddress to, int fromPort, Runnable then, List<Runnable> after) {
        send(encoded, to, fromPort);
        if (then != null) {
            then.run();
        }
        after.forEach(Runnable::run);
    }

    private void send(byte[] encoded, InetSocketAddress to, int fromPort) {
        if (to == null) {
            sa.send(encoded);
        } else {
            sa.sendTo(encoded, to, fromPort);
        }
    }

    /**
     * An INFORMATIONAL request with message ID 0 that carries IKEV2_MESSAGE_ID_SYNC, on an IKE SA
     * that announced RFC 6311 both ways (we always do, in IKE_AUTH).
     */
    private boolean isMessageIdSync(IkeMessage request) {
        return request.header().exchange() == ExchangeType.INFORMATIONAL && request.isProtected()
                && sa.state() == IkeSaState.ESTABLISHED && sa.peerMessageIdSync()
                && request.notify(NotifyType.IKEV2_MESSAGE_ID_SYNC).isPresent();
    }

    /**
     * Answers RFC 6311's message ID synchronization from a peer that took this IKE SA over (its
     * cluster's new active member): §5.1, dropped silently unless its M1 is above every request ID
     * we have seen from it; our answer's M2 is the higher of M1 and our next expected ID, P2 the
     * higher of its P1 and one more than the highest request ID we used. A request of ours in
     * flight that the peer never saw (its P1 is not above it) is sent again with P2; one it saw gets
     * its cached response from it as it is, and our IDs continue at P2 after it.
     */
    private void onMessageIdSync(IkeMessage request, InetSocketAddress from, int localPort) {
        Optional<MessageIdSync> sync = MessageIdSync.decode(request.notify(NotifyType.IKEV2_MESSAGE_ID_SYNC)
                .orElseThrow().data());
        if (sync.isEmpty()) {
            sa.counters().dropped(IkeDrop.BAD_MESSAGE_ID_SYNC);
            return;
        }
        long m1 = sync.get().nextSendId();
        long p1 = sync.get().nextExpectedId();
        if (m1 < expectedRequestId) {
            sa.counters().dropped(IkeDrop.STALE_MESSAGE_ID_SYNC);
            return;
        }
        if (responseHeld) { // the state of our last answer is being stored; the peer retransmits
            sa.counters().dropped(IkeDrop.RESPONSE_PENDING);
            return;
        }
        sa.requestAccepted(request, from, localPort);
        long m2 = Math.max(m1, expectedRequestId);
        long p2;
        byte[] again = null;
        if (active != null && !active.messageIdSync()) {
            p2 = Math.max(p1, activeId + 1);
            if (p1 <= activeId) { // the peer never processed it: it goes again, as P2, after our answer
                cancelRetransmit();
                activeId = p2;
                nextRequestId = p2;
                activeRequest = sa.encode(activeMessage, activeId);
                attempts = 0;
                again = activeRequest;
            } else {
                resumeRequestIdAt = p2;
            }
        } else {
            p2 = Math.max(p1, nextRequestId);
            nextRequestId = p2;
        }
        expectedRequestId = m2;
        OutboundMessage response = new OutboundMessage(ExchangeType.INFORMATIONAL, true)
                .add(new MessageIdSync(sync.get().nonce(), p2, m2).toNotify());
        sa.counters().messageIdSyncAnswered();
        sa.counters().exchange(ExchangeType.INFORMATIONAL, false);
        byte[] reissued = again;
        sendWhenDurable(sa.encode(response, 0), from, localPort, reissued == null ? null : () -> {
            if (activeRequest == reissued) {
                transmit();
            }
        });
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
        if (request.exchange() != null) { // the decoder drops unknown types before this (UNKNOWN_EXCHANGE)
            sa.counters().exchange(request.exchange(), false);
            sa.counters().exchangeFailed(request.exchange(), IkeFailure.REFUSED);
        }
        lastResponse = sa.encode(response, request.messageId());
        lastResponseId = request.messageId();
        lastResponseType = request.exchange();
        expectedRequestId = lastResponseId + 1;
        sendWhenDurable(lastResponse, null, 0, null);
    }

    /** Whether {@code payloads} hold an error notify (types below 16384, RFC 7296 §3.10.1). */
    private static boolean hasErrorNotify(List<? extends IkePayload> payloads) {
        for (IkePayload p : payloads) {
            if (p instanceof NotifyPayload n && n.isError()) {
                return true;
            }
        }
        return false;
    }

    private static String describeErrors(OutboundMessage m) {
        return m.payloads().stream().filter(p -> p instanceof NotifyPayload n && n.isError())
                .map(p -> ((NotifyPayload) p).notifyType().toString()).toList().toString();
    }

    private void fail(String reason) {
        fail(reason, false);
    }

    private void fail(String reason, boolean unreachable) {
        cancelRetransmit();
        active = null;
        activeRequest = null;
        activeMessage = null;
        unauthenticatedError = null;
        queued.clear();
        if (unreachable) {
            sa.destroyByPeer(reason, true);
        } else {
            sa.destroy(reason);
        }
    }

    /** Stops retransmitting and forgets queued work; the IKE SA is going away. */
    public void shutdown() {
        cancelRetransmit();
        active = null;
        activeRequest = null;
        activeMessage = null;
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
