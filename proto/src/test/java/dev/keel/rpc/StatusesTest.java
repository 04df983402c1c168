package dev.keel.rpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

class StatusesTest {

    @Test
    void aFailedCallIsOneLineWithItsCodeDescriptionAndCauseButNoStackTrace() {
        Throwable t = Status.UNAVAILABLE.withDescription("io exception")
                .withCause(new ConnectException("Connection refused: /127.0.0.1:7450")).asRuntimeException();
        assertThat(Status.fromThrowable(t).toString()).as("what the logs printed before").contains("\tat ");
        assertThat(Statuses.brief(t)).isEqualTo(
                "UNAVAILABLE: io exception (java.net.ConnectException: Connection refused: /127.0.0.1:7450)");
        assertThat(Statuses.brief(Status.CANCELLED.asException())).isEqualTo("CANCELLED");
    }
}
