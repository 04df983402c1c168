package dev.keel.policy.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.v1.ConfigSource;
import dev.keel.proto.v1.GetConnectionRequest;
import dev.keel.proto.v1.ListConnectionsRequest;
import dev.keel.proto.v1.ListPoliciesRequest;
import dev.keel.proto.v1.LoadConfigRequest;
import dev.keel.proto.v1.PolicyWatchRequest;
import dev.keel.proto.v1.ValidateConfigRequest;
import dev.keel.proto.v1.ValidateConfigResponse;
import dev.keel.rpc.FuzzedCall;
import dev.keel.rpc.RecordingCall;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;

/**
 * Every PolicyService RPC into the real {@link PolicyGrpcService} over a loaded configuration: the
 * first byte picks the RPC, the rest is its request, parsed as gRPC would (an unparsable message
 * never reaches the service). Each call ends, completed or with a precise client-error status and
 * a description; a load by path reads only inside the configuration directory (PERMISSION_DENIED
 * or INVALID_ARGUMENT outside); a Watch sends what it promises at once and unsubscribes when
 * cancelled; the service still answers a known-good request afterwards.
 */
class PolicyServiceFuzzTest {

    /** The configuration the service starts with, the compose example (also a seed of PolicyConfigFuzzTest). */
    private static final String CONFIG = resource("/dev/keel/policy/fuzz/PolicyConfigFuzzTestInputs/load/"
            + "compose-split-policy.yaml");
    private static final long EPOCH = 7;
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** A known-good call every this many executions (and after every load that applied). */
    private static final int CHECK_EVERY = 1000;

    private static final Path DIR;
    private static final Path CONFIG_FILE;
    private static final PolicyStore STORE;
    private static final PolicyGrpcService SERVICE;
    private static final ConfigResult.Valid INITIAL;
    private static int executions;

    static {
        try {
            DIR = Files.createTempDirectory("keel-policy-fuzz").toRealPath();
            CONFIG_FILE = Files.writeString(DIR.resolve("keel.yaml"), CONFIG);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ConfigLoader loader = new ConfigLoader(Map.of("KEEL_PSK", "a-psk-of-at-least-20-bytes")::get);
        INITIAL = (ConfigResult.Valid) loader.loadFile(CONFIG_FILE);
        STORE = new PolicyStore(INITIAL.config(), PolicyStore.DEFAULT_RETENTION, EPOCH);
        SERVICE = new PolicyGrpcService(loader, STORE, DIR);
    }

    @AfterAll
    static void removeDirectory() throws IOException {
        Files.deleteIfExists(CONFIG_FILE);
        Files.deleteIfExists(DIR);
    }

    /** The RPCs, in the order of the first byte (modulo their count). */
    enum Rpc { LOAD_CONFIG, VALIDATE_CONFIG, LIST_CONNECTIONS, GET_CONNECTION, LIST_POLICIES, WATCH }

    @FuzzTest(maxDuration = "15s")
    void call(byte[] bytes) throws Exception {
        FuzzedCall<Rpc> call = FuzzedCall.of(bytes, Rpc.class);
        if (call == null) {
            return;
        }
        byte[] request = call.request();
        try {
            switch (call.rpc()) {
                case LOAD_CONFIG -> load(LoadConfigRequest.parseFrom(request));
                case VALIDATE_CONFIG -> validate(ValidateConfigRequest.parseFrom(request));
                case LIST_CONNECTIONS -> {
                    var req = ListConnectionsRequest.parseFrom(request);
                    RecordingCall.invoke(SERVICE::listConnections, req).awaitEnd(WAIT, Set.of());
                }
                case GET_CONNECTION -> {
                    var req = GetConnectionRequest.parseFrom(request);
                    RecordingCall.invoke(SERVICE::getConnection, req).awaitEnd(WAIT,
                            EnumSet.of(Status.Code.INVALID_ARGUMENT, Status.Code.NOT_FOUND));
                }
                case LIST_POLICIES -> {
                    var req = ListPoliciesRequest.parseFrom(request);
                    RecordingCall.invoke(SERVICE::listPolicies, req).awaitEnd(WAIT,
                            EnumSet.of(Status.Code.NOT_FOUND));
                }
                case WATCH -> watch(PolicyWatchRequest.parseFrom(request));
            }
        } catch (InvalidProtocolBufferException e) {
            return; // gRPC's own answer: the call never reaches the service
        }
        if (++executions % CHECK_EVERY == 0) {
            stillAnswers();
        }
    }

    private static void load(LoadConfigRequest req) throws Exception {
        long before = STORE.current().revision();
        Status s = RecordingCall.invoke(SERVICE::loadConfig, req).awaitEnd(WAIT, LOAD_ERRORS);
        readOnlyInside(req.getSource(), s);
        if (s.isOk()) {
            assertThat(STORE.current().revision()).isEqualTo(before + 1);
            // Back to the configuration the seeds were made for, so each input finds the same state.
            STORE.apply(INITIAL.config());
            stillAnswers();
        } else {
            assertThat(STORE.current().revision()).as("a refused load changes nothing").isEqualTo(before);
        }
    }

    private static void validate(ValidateConfigRequest req) throws Exception {
        long before = STORE.current().revision();
        var call = RecordingCall.invoke(SERVICE::validateConfig, req);
        Status s = call.awaitEnd(WAIT, LOAD_ERRORS);
        readOnlyInside(req.getSource(), s);
        if (s.isOk()) {
            assertThat(call.last().getValid() || call.last().getProblemsCount() > 0)
                    .as("an invalid configuration comes with its problems").isTrue();
        }
        assertThat(STORE.current().revision()).as("validating applies nothing").isEqualTo(before);
    }

    /** What a load may be refused with: a bad source or YAML, or a path outside the directory. */
    private static final Set<Status.Code> LOAD_ERRORS = EnumSet.of(Status.Code.INVALID_ARGUMENT,
            Status.Code.PERMISSION_DENIED);

    /**
     * A load by path that the service answered (applied, or validated with or without problems)
     * named a file inside the configuration directory: outside it the only answers are
     * PERMISSION_DENIED and INVALID_ARGUMENT, never the file's content or problems.
     */
    private static void readOnlyInside(ConfigSource source, Status s) {
        if (source.getSourceCase() != ConfigSource.SourceCase.PATH || !s.isOk()) {
            return;
        }
        Path file;
        try {
            file = DIR.resolve(source.getPath()).normalize();
        } catch (InvalidPathException e) {
            throw new AssertionError("'" + source.getPath() + "' is no path, yet the service answered " + s, e);
        }
        assertThat(file.startsWith(DIR)).as("'%s' (%s) is inside %s", source.getPath(), file, DIR).isTrue();
    }

    private static void watch(PolicyWatchRequest req) throws Exception {
        PolicyStore.Revision now = STORE.current();
        RecordingCall<?> call = RecordingCall.invoke(SERVICE::watch, req);
        boolean upToDate = req.getEpoch() == EPOCH && req.getSinceRevision() == now.revision();
        if (upToDate) {
            assertThat(call.messages()).as("a subscriber at the current revision gets nothing yet").isZero();
        } else {
            // A snapshot, or the retained deltas after since_revision, sent before subscribe returns.
            assertThat(call.messages()).as("what a subscriber behind gets at once").isPositive();
        }
        assertThat(call.ended()).as("a Watch runs until cancelled").isFalse();
        call.cancel();
        assertThat(STORE.subscriberCount()).as("subscribers after the Watch was cancelled").isZero();
    }

    /** A known-good ValidateConfig of the service's own file by path answers valid. */
    private static void stillAnswers() throws Exception {
        ValidateConfigRequest good = ValidateConfigRequest.newBuilder()
                .setSource(ConfigSource.newBuilder().setPath("keel.yaml")).build();
        RecordingCall<ValidateConfigResponse> call = RecordingCall.invoke(SERVICE::validateConfig, good);
        assertThat(call.awaitEnd(WAIT, Set.of()).isOk()).isTrue();
        assertThat(call.last().getValid()).as("the service's own configuration validates").isTrue();
    }

    private static String resource(String name) {
        try (InputStream in = PolicyServiceFuzzTest.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
