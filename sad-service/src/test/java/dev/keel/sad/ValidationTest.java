package dev.keel.sad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Validation's hand-written id check against the documented pattern (java.util.regex). */
class ValidationTest {

    @Test
    void idCheckAcceptsExactlyWhatThePatternMatches() {
        String alphabet = "AZaz09._:/-@ \u00e9+*\u0000%";
        SplittableRandom rnd = new SplittableRandom(20261129);
        int accepted = 0;
        for (int i = 0; i < 20_000; i++) {
            int len = rnd.nextInt(0, 131);
            StringBuilder b = new StringBuilder(len);
            boolean clean = rnd.nextInt(4) != 0; // mostly valid characters, so both outcomes occur often
            for (int j = 0; j < len; j++) {
                b.append(alphabet.charAt(rnd.nextInt(clean ? 11 : alphabet.length())));
            }
            String id = b.toString();
            boolean matches = Validation.ID.matcher(id).matches();
            if (matches) {
                Validation.id("id", id);
                accepted++;
            } else {
                assertThatThrownBy(() -> Validation.id("id", id)).isInstanceOf(SadException.class)
                        .hasMessageContaining("id");
            }
        }
        assertThat(accepted).isBetween(5_000, 19_000);
    }
}
