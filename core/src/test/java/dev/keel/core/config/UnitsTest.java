package dev.keel.core.config;


import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class UnitsTest {

    @Test
    void durations() {
        assertThat(Units.seconds("0")).isZero();
        assertThat(Units.seconds("45")).isEqualTo(45);
        assertThat(Units.seconds("10s")).isEqualTo(10);
        assertThat(Units.seconds("30m")).isEqualTo(1800);
        assertThat(Units.seconds("1h")).isEqualTo(3600);
        assertThat(Units.seconds("2D")).isEqualTo(172800);
        for (String bad : new String[] {"", "h", "1.5h", "-1s", "1 h", "01h", "1w", "99999999999999999999"}) {
            assertThatThrownBy(() -> Units.seconds(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> Units.seconds("100000000d")).hasMessageContaining("too long");
    }

    @Test
    void sizes() {
        assertThat(Units.bytes("1000")).isEqualTo(1000);
        assertThat(Units.bytes("512K")).isEqualTo(512L << 10);
        assertThat(Units.bytes("100m")).isEqualTo(100L << 20);
        assertThat(Units.bytes("1G")).isEqualTo(1L << 30);
        assertThat(Units.bytes("2T")).isEqualTo(2L << 40);
        for (String bad : new String[] {"", "G", "1.5G", "1GB", "-1", "0x10"}) {
            assertThatThrownBy(() -> Units.bytes(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> Units.bytes("5000000T")).hasMessageContaining("too large");
    }
}
