package dev.keel.esp.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.esp.wire.Tshark.ChecksumStatus;
import dev.keel.esp.wire.Tshark.EspFrame;
import dev.keel.esp.wire.Tshark.IcvStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The parsing half of {@link Tshark}, on canned output; the tshark runs are in EspSaTableTsharkTest. */
class TsharkTest {

    @Test
    void parsesTshark40FieldOutput() {
        String line = String.join("\t", "1", "192.0.2.1|10.0.0.1", "192.0.2.2|10.0.0.2", "", "", "4500", "4500",
                "1|1", "1", "0x0000c0de", "7", "1", "0", "4500000a0b0c0004", "4500000a0b0c", "0", "0x04");

        EspFrame f = Tshark.parse(line);

        assertThat(f.frame()).isEqualTo(1);
        assertThat(f.ipSources()).containsExactly("192.0.2.1", "10.0.0.1");
        assertThat(f.ipChecksums()).containsExactly(ChecksumStatus.GOOD, ChecksumStatus.GOOD);
        assertThat(f.spi()).isEqualTo(0xc0de);
        assertThat(f.sequence()).isEqualTo(7);
        assertThat(f.icv()).isEqualTo(IcvStatus.GOOD);
        assertThat(f.inner()).containsExactly(0x45, 0, 0, 0x0a, 0x0b, 0x0c);
        assertThat(f.nextHeader()).isEqualTo(4);
    }

    @Test
    void parsesNewerBooleanSpellingAndAbsentFields() {
        String bad = String.join("\t", "2", "", "", "2001:db8::1", "2001:db8::2", "4500", "4500", "", "2",
                "0xffffffff", "4294967295", "False", "True", "", "", "", "");
        String none = String.join("\t", "3", "192.0.2.1", "192.0.2.2", "", "", "", "", "0", "", "", "", "", "", "",
                "", "", "");

        assertThat(Tshark.parse(bad).icv()).isEqualTo(IcvStatus.BAD);
        assertThat(Tshark.parse(bad).spi()).isEqualTo(0xffffffffL);
        assertThat(Tshark.parse(bad).udpChecksum()).isEqualTo(ChecksumStatus.UNVERIFIED);
        assertThat(Tshark.parse(bad).wasDecrypted()).isFalse();
        assertThat(Tshark.parse(none).icv()).isEqualTo(IcvStatus.UNCHECKED);
        assertThat(Tshark.parse(none).spi()).isEqualTo(-1);
        assertThat(Tshark.parse(none).udpChecksum()).isNull();
        assertThat(Tshark.parse(none).ipChecksums()).containsExactly(ChecksumStatus.BAD);
    }

    @Test
    void aRunThatOutlivesItsTimeoutIsKilled(@TempDir Path dir) throws Exception {
        Tshark tshark = Tshark.assumeInstalled();
        // tshark blocks reading a FIFO that nobody writes, until it is killed.
        Path fifo = dir.resolve("never-written");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        long start = System.nanoTime();

        assertThatThrownBy(() -> tshark.run(List.of("-r", fifo.toString()), Duration.ofMillis(1500)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("killed");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
    }

    @Test
    void versionIsReported() {
        assertThat(Tshark.assumeInstalled().version()).startsWith("TShark");
    }
}
