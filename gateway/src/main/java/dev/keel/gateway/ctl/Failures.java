package dev.keel.gateway.ctl;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/**
 * What keelctl says when a call fails, and its exit status: one line that names what went wrong
 * and what to do, never a stack trace (a refused configuration adds its problems, one a line).
 */
final class Failures {

    /** The operation ran and failed (NOT_FOUND, an initiate that did not complete, ...). */
    static final int FAILED = 1;
    /** The command line is wrong (picocli's usage status). */
    static final int USAGE = 2;
    /** The node cannot be reached, or TLS with it failed. */
    static final int UNREACHABLE = 3;
    /** The node refused the caller: no client certificate, or not the role the call needs. */
    static final int DENIED = 4;

    /** RoleAuthorization's refusal: "client 'DN' may not call SERVICE/METHOD (needs role A or B)". */
    private static final Pattern ROLE_REFUSAL =
            Pattern.compile("client '(.*)' may not call (\\S+)(?: \\(needs role ([A-Z_ ]+(?: or [A-Z_]+)*)\\))?");

    private Failures() {}

    /**
     * Prints the failure of {@code verb}'s call and returns the exit status.
     *
     * @param streamed whether the node had already streamed a message of the call's answer: an
     *                 Initiate that then ends UNAVAILABLE or PERMISSION_DENIED reached the node
     *                 and failed with the peer (no answer, authentication failed)
     */
    static int report(StatusRuntimeException e, Verb verb, AdminTarget target, boolean streamed, PrintWriter err) {
        Status s = e.getStatus();
        String what = description(s);
        switch (s.getCode()) {
            case UNAVAILABLE -> {
                if (verb == Verb.INITIATE && streamed) {
                    return line(err, FAILED, "initiate failed: " + what);
                }
                return unreachable(s, target, err);
            }
            case PERMISSION_DENIED -> {
                if (verb == Verb.INITIATE && streamed) {
                    return line(err, FAILED, "initiate failed: " + what);
                }
                if (what.endsWith(" (not a method of this API)")) { // RoleAuthorization: no role may call it here
                    return notServed(verb, target, what, err);
                }
                return line(err, DENIED, "permission denied: " + refusal(what, verb, target));
            }
            case UNAUTHENTICATED -> {
                return line(err, DENIED, "the node wants a client certificate (" + what + "): give --cert and --key"
                        + " of a certificate its client CA issued");
            }
            case DEADLINE_EXCEEDED -> {
                if (verb.role() == Verb.Role.OPERATOR) {
                    return line(err, FAILED, verb.option().substring(2) + " failed: no result in time (" + what
                            + "); it may still complete: keelctl --list-sas shows where it got");
                }
                return line(err, UNREACHABLE, "the node at " + target.uri() + " did not answer in time (" + what + ")");
            }
            case NOT_FOUND -> {
                return line(err, FAILED, "not found: " + what + "; " + verb.listHint());
            }
            case INVALID_ARGUMENT -> {
                if (verb == Verb.LOAD_ALL || verb == Verb.LOAD_CONNS) {
                    return refusedConfiguration(s, err);
                }
                return line(err, FAILED, "the node refused the request: " + what);
            }
            case UNIMPLEMENTED -> {
                return notServed(verb, target, what, err);
            }
            default -> {
                return line(err, FAILED, verb.option().substring(2) + " failed: " + s.getCode() + ": " + what);
            }
        }
    }

    private static int notServed(Verb verb, AdminTarget target, String what, PrintWriter err) {
        return line(err, FAILED, "the node at " + target.uri() + " does not serve " + verb.option() + " (" + what
                + "): is it a Keel node of this version, and the service that has it?");
    }

    /** Prints {@code "keelctl: " + message} and returns {@code status}. */
    static int line(PrintWriter err, int status, String message) {
        err.println("keelctl: " + message);
        err.flush();
        return status;
    }

    private static int unreachable(Status s, AdminTarget target, PrintWriter err) {
        SSLException tls = cause(s.getCause(), SSLException.class);
        if (tls != null) {
            return line(err, UNREACHABLE, "TLS with " + target.uri() + " failed: " + oneLine(tls.getMessage())
                    + "; --cacert must be the CA of the node's certificate, which must name "
                    + (target.serverName() != null ? target.serverName() : target.host() + " (else --server-name)")
                    + ", and the node's client CA must have issued --cert");
        }
        if (target.socket() != null && !Files.exists(target.socket())) {
            List<String> found = sockets(target.socket().getParent());
            return line(err, UNREACHABLE, "no socket at " + target.socket() + ": the node's start-up line names its own"
                    + " ('admin API unix:...'); give it with --uri or KEEL_ADMIN_URI"
                    + (found.isEmpty() ? "" : " (found: " + String.join(", ", found) + ")"));
        }
        String reason = rootMessage(s.getCause());
        return line(err, UNREACHABLE, "cannot reach the node at " + target.uri() + ": "
                + (reason != null ? reason : description(s)) + "; " + (target.socket() == null
                ? "is the node running, with its admin API on that address (gateway.admin listen)?"
                : "is the node running? Its socket admits only the node's user and root"));
    }

    /** The sockets in {@code dir} (e.g. /run/keel/gw-a.sock), when it can be read. */
    private static List<String> sockets(Path dir) {
        List<String> found = new ArrayList<>();
        if (dir == null || !Files.isDirectory(dir)) {
            return found;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.sock")) {
            s.forEach(p -> found.add("unix:" + p));
        } catch (IOException | SecurityException e) {
            // nothing to suggest
        }
        return found.stream().sorted().limit(5).toList();
    }

    /** The refusal in words: who the caller is, and the role the verb needs. */
    private static String refusal(String what, Verb verb, AdminTarget target) {
        Matcher m = ROLE_REFUSAL.matcher(what);
        if (!m.find()) {
            return what;
        }
        String subject = target.clientSubject() != null ? target.clientSubject() : m.group(1);
        String role = verb.role().name().toLowerCase(Locale.ROOT);
        return "the client certificate " + subject + " may not call " + m.group(2)
                + (m.group(3) == null ? "" : " (needs role " + m.group(3) + ")") + "; " + verb.option() + " needs the "
                + role + " role: use a certificate the node grants it (gateway.admin " + role + "s"
                + (verb.role() == Verb.Role.ADMIN ? "" : " or admins") + ")";
    }

    /** LoadConfig's INVALID_ARGUMENT: its summary, then the problems as the node listed them, one a line. */
    private static int refusedConfiguration(Status s, PrintWriter err) {
        String[] lines = (s.getDescription() == null ? "invalid configuration" : s.getDescription()).split("\n");
        err.println("keelctl: the node refused the configuration, nothing changed: " + lines[0]);
        for (int i = 1; i < lines.length; i++) {
            err.println(lines[i]);
        }
        err.flush();
        return FAILED;
    }

    private static String description(Status s) {
        return s.getDescription() == null ? s.getCode().name() : oneLine(s.getDescription());
    }

    private static String oneLine(String text) {
        return text == null ? "" : text.strip().replaceAll("\\s*\\R\\s*", "; ");
    }

    private static <T extends Throwable> T cause(Throwable t, Class<T> type) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
        }
        return null;
    }

    /**
     * The innermost message of a transport failure, e.g. "Connection refused" (without Netty's
     * "finishConnect(..) failed with error(-111): "), or null.
     */
    private static String rootMessage(Throwable t) {
        String message = null;
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c.getMessage() != null && !c.getMessage().isBlank()) {
                message = oneLine(c.getMessage()).replaceFirst("^\\w+\\(\\.\\.\\) failed with error\\(-?\\d+\\): ", "");
            }
        }
        return message;
    }
}
