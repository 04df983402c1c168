package dev.keel.proto;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class KekIdTest {

    @Test
    void isTheFirstFourBytesOfSha256OfTheLabelAndTheKek() {
        // python3: hashlib.sha256(b"keel-kek-id" + kek).hexdigest()[:8], kek = RFC 5649 §6's 192-bit KEK
        byte[] kek = HexFormat.of().parseHex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
        assertThat(KekId.of(kek)).isEqualTo(0x6019d034);
        kek[0] ^= 1;
        assertThat(KekId.of(kek)).isNotEqualTo(0x6019d034);
    }
}
