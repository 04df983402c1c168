package dev.keel.gateway.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.InitiateRequest;
import dev.keel.proto.v1.ListCertsRequest;
import dev.keel.proto.v1.ListCertsResponse;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListChildSasResponse;
import dev.keel.proto.v1.ListIkeSasRequest;
import dev.keel.proto.v1.ListIkeSasResponse;
import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.RekeyRequest;
import dev.keel.proto.v1.RekeyResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.SetLogLevelsRequest;
import dev.keel.proto.v1.SetLogLevelsResponse;
import dev.keel.proto.v1.StatsRequest;
import dev.keel.proto.v1.StatsResponse;
import dev.keel.proto.v1.TerminateRequest;
import dev.keel.proto.v1.TerminateResponse;
import dev.keel.proto.v1.WatchLogRequest;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A node's admin API for keelctl's tests, in process: a scripted IkeService and SaService
 * (answers and failures set per test, requests recorded) and policy-service's real
 * PolicyService over {@link #CONFIG}. {@link #run} runs keelctl against it at {@link #NOW}, UTC.
 */
final class FakeNode implements AutoCloseable {

    static final Instant NOW = Instant.parse("2025-01-02T10:00:00Z");

    /** Two connections, one child each; the secret comes from the (fake) environment. */
    static final String CONFIG = """
            secrets:
              psk-b: {env: KEEL_TEST_PSK}
            connections:
              tunnel:
                local_addrs: 192.0.2.1
                remote_addrs: 192.0.2.2
                local:  {auth: psk, id: gw-a.keel.test, secret: psk-b}
                remote: {auth: psk, id: gw-b.keel.test}
                proposals: aes256gcm16-prfsha256-x25519
                dpd_delay: 30s
                children:
                  net:
                    local_ts: 10.1.0.0/24
                    remote_ts: 10.2.0.0/24
                    esp_proposals: aes256gcm16
                    rekey_time: 1h
                    start_action: start
              backup:
                local_addrs: 192.0.2.1
                remote_addrs: 192.0.2.3
                local:  {auth: psk, id: gw-a.keel.test, secret: psk-b}
                remote: {auth: psk, id: gw-c.keel.test}
                reauth_time: 8h
                children:
                  lan:
                    local_ts: 10.1.0.0/24
                    remote_ts: 10.3.0.0/24
            """;

    static final ConfigLoader LOADER = new ConfigLoader(Map.of("KEEL_TEST_PSK", "a-test-psk-of-enough-bytes")::get);

    /** The IkeService: what each call answers (a message, or a Status to fail with). */
    final Map<String, Object> answers = new ConcurrentHashMap<>();
    /** The IkeService and SaService requests, in order. */
    final List<Object> requests = new CopyOnWriteArrayList<>();
    /** What Initiate and WatchLog stream, by the call's name; the call then ends with {@code answers}' Status, or OK. */
    final Map<String, Function<StreamObserver<LogLine>, Runnable>> streams = new ConcurrentHashMap<>();
    /** The SAD's pages, in order. */
    final List<ListChildSasResponse> sadPages = new CopyOnWriteArrayList<>();
    /** The targets keelctl opened channels to. */
    final List<AdminTarget> targets = new CopyOnWriteArrayList<>();

    private final String name = "keelctl-" + System.nanoTime();
    private final Server server;
    private final List<ManagedChannel> channels = new ArrayList<>();

    FakeNode() throws IOException {
        PolicyStore store = new PolicyStore(((ConfigResult.Valid) LOADER.loadText("keel.yaml", CONFIG)).config());
        InProcessServerBuilder b = InProcessServerBuilder.forName(name);
        addScripted(b);
        server = b.addService(new PolicyGrpcService(LOADER, store)).build().start();
    }

    /** Adds the scripted IkeService and SaService to {@code b} (a server on another transport). */
    void addScripted(ServerBuilder<?> b) {
        b.addService(new Ike()).addService(new Sad());
    }

    /** What keelctl printed and returned. */
    record Run(int status, String out, String err) {
        /** Asserts the failure is reported in one line, without a stack trace, and returns it. */
        String oneErrorLine() {
            assertThat(err.lines().toList()).as("stderr of a failure").hasSize(1);
            assertThat(err).startsWith("keelctl: ").doesNotContain("\tat ").doesNotContain("Exception:");
            return err.strip();
        }
    }

    /** Runs keelctl with {@code args} against this node, with environment {@code env}. */
    Run run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = run(env, new PrintWriter(out), new PrintWriter(err), args);
        return new Run(status, out.toString(), err.toString());
    }

    Run run(String... args) {
        return run(Map.of(), args);
    }

    /** Runs keelctl with its output to {@code out} (e.g. a writer that watches it as it comes). */
    int run(Map<String, String> env, PrintWriter out, PrintWriter err, String... args) {
        Keelctl.Environment environment = new Keelctl.Environment(env, Clock.fixed(NOW, ZoneOffset.UTC), target -> {
            targets.add(target);
            ManagedChannel ch = InProcessChannelBuilder.forName(name).build();
            synchronized (channels) {
                channels.add(ch);
            }
            return ch;
        });
        return Keelctl.run(args, environment, out, err);
    }

    /** Text as keelctl prints it: {@code text} with the platform's line separator. */
    static String lines(String text) {
        return text.replace("\n", System.lineSeparator());
    }

    /** A writer that runs {@code onText} each time something containing {@code text} is written. */
    static Writer watching(Writer to, String text, Runnable onText) {
        return new Writer() {
            @Override
            public void write(char[] cbuf, int off, int len) throws IOException {
                to.write(cbuf, off, len);
                if (new String(cbuf, off, len).contains(text)) {
                    onText.run();
                }
            }

            @Override
            public void flush() throws IOException {
                to.flush();
            }

            @Override
            public void close() throws IOException {
                to.close();
            }
        };
    }

    @Override
    public void close() {
        synchronized (channels) {
            channels.forEach(ManagedChannel::shutdownNow);
        }
        server.shutdownNow();
    }

    private <Q, A> void unary(String call, Q request, StreamObserver<A> out) {
        requests.add(request);
        Object answer = answers.get(call);
        if (answer instanceof Status s) {
            out.onError(s.asRuntimeException());
        } else if (answer == null) {
            out.onError(Status.UNIMPLEMENTED.withDescription("no answer for " + call).asRuntimeException());
        } else {
            @SuppressWarnings("unchecked")
            A a = (A) answer;
            out.onNext(a);
            out.onCompleted();
        }
    }

    private void stream(String call, Object request, StreamObserver<LogLine> out) {
        requests.add(request);
        Function<StreamObserver<LogLine>, Runnable> script = streams.get(call);
        // On its own thread: a script may wait for keelctl to print a line before it sends the next.
        Thread.ofVirtual().start(() -> {
            try {
                if (script != null) {
                    script.apply(out).run();
                }
                if (answers.get(call) instanceof Status s) {
                    out.onError(s.asRuntimeException());
                } else {
                    out.onCompleted();
                }
            } catch (StatusRuntimeException e) {
                out.onError(e);
            }
        });
    }

    private final class Ike extends IkeServiceGrpc.IkeServiceImplBase {
        @Override
        public void listIkeSas(ListIkeSasRequest request, StreamObserver<ListIkeSasResponse> out) {
            unary("ListIkeSas", request, out);
        }

        @Override
        public void listCerts(ListCertsRequest request, StreamObserver<ListCertsResponse> out) {
            unary("ListCerts", request, out);
        }

        @Override
        public void initiate(InitiateRequest request, StreamObserver<LogLine> out) {
            stream("Initiate", request, out);
        }

        @Override
        public void terminate(TerminateRequest request, StreamObserver<TerminateResponse> out) {
            unary("Terminate", request, out);
        }

        @Override
        public void rekey(RekeyRequest request, StreamObserver<RekeyResponse> out) {
            unary("Rekey", request, out);
        }

        @Override
        public void stats(StatsRequest request, StreamObserver<StatsResponse> out) {
            unary("Stats", request, out);
        }

        @Override
        public void watchLog(WatchLogRequest request, StreamObserver<LogLine> out) {
            stream("WatchLog", request, out);
        }

        @Override
        public void setLogLevels(SetLogLevelsRequest request, StreamObserver<SetLogLevelsResponse> out) {
            unary("SetLogLevels", request, out);
        }
    }

    private final class Sad extends SaServiceGrpc.SaServiceImplBase {
        @Override
        public void listChildSas(ListChildSasRequest request, StreamObserver<ListChildSasResponse> out) {
            requests.add(request);
            int page = request.getPageToken().isEmpty() ? 0 : Integer.parseInt(request.getPageToken());
            out.onNext(sadPages.get(page).toBuilder()
                    .setNextPageToken(page + 1 < sadPages.size() ? Integer.toString(page + 1) : "").build());
            out.onCompleted();
        }
    }
}
