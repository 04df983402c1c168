package dev.keel.ike.admin;

import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSa;
import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.LogSubsystem;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * One initiation an operator asked for (swanctl --initiate): the connection's IKE SA, made or
 * reused by {@link IkeEngine#initiate}, and its children one after the other, each done once its
 * CHILD SA is installed. It reports its progress as log lines built from the engine's events for
 * that IKE SA (and the IKE SAs that replace it), and ends with the unique ids it made, or with the
 * status ike.proto names for what stopped it: PERMISSION_DENIED when authentication failed,
 * UNAVAILABLE when the peer did not answer, DEADLINE_EXCEEDED when the time ran out (the attempt
 * goes on), ABORTED otherwise. Events arrive on the IKE SA's thread; the lines leave in order.
 */
final class Initiation implements IkeEvents {

    /** The IKE SA and CHILD SAs an initiation ended with. */
    record Result(long ikeSa, List<Long> childSas) {
    }

    private final IkeEngine engine;
    private final String connection;
    private final List<String> children;
    private final String remote;
    private final LogLevel level;
    private final Consumer<LogLine> lines;
    private final CompletableFuture<Result> result = new CompletableFuture<>();
    /** The IKE SA the attempt runs on and those that replaced it by rekeys. */
    private final Set<IkeSa> chain = ConcurrentHashMap.newKeySet();
    /** Inbound SPIs of CHILD SAs made by rekeys meanwhile: not ours. */
    private final Set<Integer> rekeyReplacements = ConcurrentHashMap.newKeySet();
    private final List<Long> made = new ArrayList<>();
    private int next;
    private String failure;
    private IkeSa.FailureCause failureCause;

    /**
     * @param remote   the peer's endpoint, for the first line
     * @param level    the least severe line streamed
     * @param lines    where the lines go (called by one thread at a time)
     */
    Initiation(IkeEngine engine, String connection, List<String> children, String remote, LogLevel level,
            Consumer<LogLine> lines) {
        this.engine = engine;
        this.connection = connection;
        this.children = List.copyOf(children);
        this.remote = remote;
        this.level = level;
        this.lines = lines;
    }

    /** Starts; the future completes when every child is installed or the first fails, or after {@code timeout}. */
    CompletableFuture<Result> start(Duration timeout) {
        AutoCloseable observation = engine.observe(this);
        result.whenComplete((r, e) -> {
            try {
                observation.close();
            } catch (Exception ignored) {
                // removing from a list throws nothing
            }
        });
        startChild(0);
        CompletableFuture<Result> out = result.copy().orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
        out.whenComplete((r, e) -> {
            if (e instanceof TimeoutException) {
                result.completeExceptionally(Status.DEADLINE_EXCEEDED.withDescription("no result within "
                        + timeout.toMillis() + " ms; the initiation of '" + connection + "' goes on (see ListIkeSas)")
                        .asRuntimeException());
            }
        });
        return result;
    }

    /** Stops reporting (the client went away); the engine's attempt goes on. */
    void cancel() {
        result.cancel(false);
    }

    private synchronized void startChild(int index) {
        if (result.isDone()) {
            return;
        }
        next = index;
        String child = children.get(index);
        CompletableFuture<IkeSa> attempt;
        try {
            attempt = engine.initiate(connection, child, (ikeSa, created) -> onIkeSa(ikeSa, created, child));
        } catch (RuntimeException e) { // the connection changed since the request was checked
            failed(e);
            return;
        }
        attempt.whenComplete((ikeSa, e) -> {
            if (e != null) {
                failed(e);
            }
        });
    }

    /** The engine chose {@code ikeSa} for {@code child}: its events are this attempt's from now on. */
    private void onIkeSa(IkeSa ikeSa, boolean created, String child) {
        chain.add(ikeSa); // before anything of it is sent: no event of it can come earlier
        if (created) {
            line(LogLevel.LOG_LEVEL_INFO, LogSubsystem.LOG_SUBSYSTEM_IKE, ikeSa,
                    "initiating IKE_SA " + name(ikeSa) + " to " + remote);
        } else {
            line(LogLevel.LOG_LEVEL_INFO, LogSubsystem.LOG_SUBSYSTEM_IKE, ikeSa,
                    "IKE_SA " + name(ikeSa) + " is established: CHILD_SA " + child + " by CREATE_CHILD_SA");
        }
        line(LogLevel.LOG_LEVEL_INFO, LogSubsystem.LOG_SUBSYSTEM_CHD, ikeSa, "establishing CHILD_SA " + child);
    }

    private synchronized void failed(Throwable e) {
        Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                ? e.getCause() : e;
        String reason = failure != null ? failure : cause.getMessage();
        Status status = cause instanceof IllegalArgumentException ? Status.NOT_FOUND // the connection or child went away
                : failureCause == IkeSa.FailureCause.AUTHENTICATION ? Status.PERMISSION_DENIED
                : failureCause == IkeSa.FailureCause.UNANSWERED ? Status.UNAVAILABLE
                : Status.ABORTED;
        result.completeExceptionally(status.withDescription(reason).asRuntimeException());
    }

    private boolean ours(IkeSa x) {
        return chain.contains(x);
    }

    @Override
    public void ikeRekeyed(IkeSa old, IkeSa replacement) {
        if (ours(old)) {
            chain.add(replacement);
        }
    }

    @Override
    public void childRekeyed(IkeSa x, ChildSa old, ChildSa replacement) {
        if (ours(x)) {
            rekeyReplacements.add(replacement.inboundSpi());
        }
    }

    @Override
    public void ikeEstablished(IkeSa x) {
        if (ours(x)) {
            line(LogLevel.LOG_LEVEL_INFO, LogSubsystem.LOG_SUBSYSTEM_IKE, x, "IKE_SA " + name(x)
                    + " established between " + x.endpoints().localAddress() + "[" + x.connection().localId() + "]..."
                    + x.endpoints().remote().getAddress().getHostAddress() + "[" + x.peerIdentity() + "]");
            var a = SaListing.algorithms(x.suite(), true, false);
            line(LogLevel.LOG_LEVEL_DEBUG, LogSubsystem.LOG_SUBSYSTEM_IKE, x, "IKE_SA " + name(x) + " SPIs "
                    + hex(x.spiI(), 16) + "_i " + hex(x.spiR(), 16) + "_r, " + suite(a.getEncryption(),
                    a.getEncryptionKeyBits(), a.getIntegrity(), a.getPrf(), a.getKeyExchange()));
        }
    }

    @Override
    public void childEstablished(IkeSa x, ChildSa child) {
        if (ours(x) && !rekeyReplacements.contains(child.inboundSpi())) {
            line(LogLevel.LOG_LEVEL_INFO, LogSubsystem.LOG_SUBSYSTEM_CHD, x, "CHILD_SA " + child.name() + "{"
                    + x.childSas().uniqueId(child.inboundSpi()) + "} established with SPIs "
                    + hex(child.inboundSpi() & 0xffff_ffffL, 8) + "_i " + hex(child.outboundSpi() & 0xffff_ffffL, 8)
                    + "_o and TS " + ts(child.localTs()) + " === " + ts(child.remoteTs()));
        }
    }

    @Override
    public synchronized CompletionStage<?> childInstalled(IkeSa x, ChildSa child) {
        // childInstalled comes after childRekeyed of a replacement: a rekey's CHILD SA is never taken for ours
        if (ours(x) && !rekeyReplacements.contains(child.inboundSpi()) && !result.isDone()
                && child.name().equals(children.get(next))) {
            installed(x, child);
        }
        return INSTALLED; // an observer's stage is not waited for
    }

    private void installed(IkeSa x, ChildSa child) {
        long id = x.childSas().uniqueId(child.inboundSpi());
        made.add(id);
        line(LogLevel.LOG_LEVEL_DEBUG, LogSubsystem.LOG_SUBSYSTEM_CHD, x, "CHILD_SA " + child.name() + "{" + id
                + "} installed");
        if (next + 1 < children.size()) {
            startChild(next + 1);
            return;
        }
        // "initiate completed successfully" is the client's to say, as swanctl's (charon logs no such line)
        result.complete(new Result(x.uniqueId(), List.copyOf(made)));
    }

    @Override
    public synchronized void failed(IkeSa x, String reason) {
        if (ours(x)) {
            if (failure == null) {
                failure = reason;
                failureCause = x.failureCause();
            }
            line(LogLevel.LOG_LEVEL_ERROR, x.state() == dev.keel.ike.session.IkeSaState.ESTABLISHED
                    ? LogSubsystem.LOG_SUBSYSTEM_CHD : LogSubsystem.LOG_SUBSYSTEM_IKE, x, reason);
        }
    }

    @Override
    public void ikeDestroyed(IkeSa x, String reason) {
        if (ours(x)) {
            line(LogLevel.LOG_LEVEL_INFO, LogSubsystem.LOG_SUBSYSTEM_IKE, x, "IKE_SA " + name(x) + " destroyed: "
                    + reason);
        }
    }

    private synchronized void line(LogLevel severity, LogSubsystem subsystem, IkeSa x, String message) {
        if (severity.getNumber() > level.getNumber() || result.isDone()) {
            return;
        }
        lines.accept(LogLine.newBuilder().setTimeMillis(System.currentTimeMillis()).setSubsystem(subsystem)
                .setLevel(severity).setMessage(message).setConnection(connection).setIkeSaUniqueId(x.uniqueId())
                .build());
    }

    private String name(IkeSa x) {
        return connection + "[" + x.uniqueId() + "]";
    }

    static String hex(long value, int digits) {
        String h = Long.toHexString(value);
        return h.length() >= digits ? h : "0".repeat(digits - h.length()) + h;
    }

    /** "AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519", as swanctl prints a suite. */
    static String suite(String encryption, int keyBits, String integrity, String prf, String keyExchange) {
        StringBuilder b = new StringBuilder(encryption);
        if (keyBits != 0) {
            b.append('-').append(keyBits);
        }
        for (String part : new String[] {integrity, prf, keyExchange}) {
            if (!part.isEmpty()) {
                b.append('/').append(part);
            }
        }
        return b.toString();
    }

    private static String ts(List<dev.keel.core.ts.TrafficSelector> list) {
        return list.stream().map(Object::toString).collect(Collectors.joining(" "));
    }
}
