package dev.keel.esp.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

class SystemTestsTest {

    @Test
    void aMissingToolSkipsWithTheReasonOrFailsWhenSystemTestsAreRequired() {
        Class<? extends Throwable> expected = SystemTests.required()
                ? AssertionFailedError.class : TestAbortedException.class;

        assertThatThrownBy(() -> SystemTests.assumeTool("keel-no-such-tool-42"))
                .isInstanceOf(expected)
                .hasMessageContaining("'keel-no-such-tool-42' is not installed")
                .hasMessageContaining(SystemTests.REQUIRE_ENV);
    }

    @Test
    void anInstalledToolIsFound() {
        assertThat(SystemTests.findTool("sh")).isPresent();
        assertThat(SystemTests.findTool("keel-no-such-tool-42")).isEmpty();
    }
}
