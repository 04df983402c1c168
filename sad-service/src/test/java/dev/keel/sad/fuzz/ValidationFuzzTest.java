package dev.keel.sad.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.UpdateChildSaRequest;
import dev.keel.sad.SadException;
import dev.keel.sad.Validation;

/**
 * sad-service's {@link Validation} of InstallChildSa and UpdateChildSa requests, each parsed from
 * the fuzzer's bytes as gRPC would: a request passes, or is refused with INVALID_ARGUMENT naming
 * the field ("child_sa.spi: ..."); nothing else escapes.
 */
class ValidationFuzzTest {

    @FuzzTest(maxDuration = "15s")
    void installChildSa(byte[] bytes) {
        InstallChildSaRequest req;
        try {
            req = InstallChildSaRequest.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            return; // gRPC's own answer: the call never reaches the service
        }
        validates(() -> Validation.childSa(req.getChildSa(), req.getKeys()));
    }

    @FuzzTest(maxDuration = "15s")
    void updateChildSa(byte[] bytes) {
        UpdateChildSaRequest req;
        try {
            req = UpdateChildSaRequest.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            return;
        }
        validates(() -> Validation.update(req));
    }

    private static void validates(Runnable check) {
        try {
            check.run();
        } catch (SadException e) {
            assertThat(e.kind()).isEqualTo(SadException.Kind.INVALID_ARGUMENT);
            assertThat(e.getMessage()).matches("(?s)[a-z_]+(\\.[a-z_]+|\\[\\d+])*: .+");
        }
    }
}
