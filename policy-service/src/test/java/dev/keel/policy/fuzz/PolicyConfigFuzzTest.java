package dev.keel.policy.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.code_intelligence.jazzer.mutation.annotation.NotNull;
import dev.keel.core.config.ConfigProblem;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import java.util.Map;

/**
 * policy-service's YAML configuration (swanctl-like connections, secrets, policies; what
 * LoadConfig / ValidateConfig and the service's --config read): any text gives a valid
 * configuration or problems that each name the file, a key path and what is wrong.
 */
class PolicyConfigFuzzTest {

    private static final String FILE = "fuzz.yaml";
    private final ConfigLoader loader = new ConfigLoader(Map.of("KEEL_PSK", "a-psk-of-at-least-20-bytes")::get);

    @FuzzTest(maxDuration = "15s")
    void load(@NotNull String yaml) {
        ConfigResult result = loader.loadText(FILE, yaml);
        if (result instanceof ConfigResult.Invalid invalid) {
            for (ConfigProblem p : invalid.problems()) {
                assertThat(p.file()).isEqualTo(FILE);
                assertThat(p.path()).isNotNull();
                assertThat(p.message()).isNotBlank();
                assertThat(p.line()).isNotNegative();
            }
        } else {
            assertThat(result).isInstanceOf(ConfigResult.Valid.class);
        }
    }
}
