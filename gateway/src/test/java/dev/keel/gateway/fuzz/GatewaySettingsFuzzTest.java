package dev.keel.gateway.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.code_intelligence.jazzer.mutation.annotation.NotNull;
import dev.keel.gateway.GatewaySettingsReader;
import java.util.regex.Pattern;

/**
 * The gateway's YAML settings (the {@code gateway:}, {@code logging:} and {@code metrics:}
 * sections {@link GatewaySettingsReader} reads at startup): any text gives valid settings or
 * problems that each name the file, a key path and what is wrong.
 */
class GatewaySettingsFuzzTest {

    private static final String FILE = "fuzz.yaml";
    /**
     * One problem line ({@code ConfigProblem.toString}): the file, a position when known, then a
     * key path inside one of the sections this reader owns, or none for the whole file (a YAML
     * syntax error, a top level that is no mapping), and a message.
     */
    private static final Pattern PROBLEM = Pattern.compile(
            "(?s)" + Pattern.quote(FILE) + "(:[1-9]\\d*:[1-9]\\d*)?: ((gateway|logging|metrics)([.\\[][^:]*)?: )?\\S.*");

    @FuzzTest(maxDuration = "15s")
    void read(@NotNull String yaml) {
        GatewaySettingsReader.Result result = GatewaySettingsReader.read(FILE, yaml);
        if (result instanceof GatewaySettingsReader.Result.Invalid invalid) {
            assertThat(invalid.problems()).isNotEmpty().allSatisfy(p -> assertThat(p).matches(PROBLEM));
        } else {
            assertThat(result).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
            assertThat(((GatewaySettingsReader.Result.Valid) result).settings()).isNotNull();
        }
    }
}
