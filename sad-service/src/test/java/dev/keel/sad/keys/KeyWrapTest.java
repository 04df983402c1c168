package dev.keel.sad.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** AES Key Wrap with Padding against RFC 5649 §6, and KEK file validation. */
class KeyWrapTest {

    private static final HexFormat HEX = HexFormat.of();
    /** RFC 5649 §6: the 192-bit KEK of both examples. */
    private static final byte[] KEK = HEX.parseHex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");

    @Test
    void rfc5649Section6WrapsTwentyOctetKey() {
        KeyWrap wrap = new KeyWrap(KeyEncryptionKey.of(KEK));
        byte[] key = HEX.parseHex("c37b7e6492584340bed12207808941155068f738");
        byte[] wrapped = wrap.wrap(key);
        assertThat(HEX.formatHex(wrapped)).isEqualTo("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
        assertThat(wrap.unwrap(wrapped, wrap.kekId())).isEqualTo(key);
    }

    @Test
    void rfc5649Section6WrapsSevenOctetKey() {
        KeyWrap wrap = new KeyWrap(KeyEncryptionKey.of(KEK));
        byte[] key = HEX.parseHex("466f7250617369");
        byte[] wrapped = wrap.wrap(key);
        assertThat(HEX.formatHex(wrapped)).isEqualTo("afbeb0f07dfbf5419200f2ccb50bb24f");
        assertThat(wrap.unwrap(wrapped, wrap.kekId())).isEqualTo(key);
    }

    @Test
    void tamperedWrapFailsIntegrityCheckWithoutLeakingBytes() {
        KeyWrap wrap = new KeyWrap(KeyEncryptionKey.of(KEK));
        byte[] wrapped = wrap.wrap(HEX.parseHex("c37b7e6492584340bed12207808941155068f738"));
        wrapped[5] ^= 1;
        assertThatThrownBy(() -> wrap.unwrap(wrapped, wrap.kekId()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("wrapped key failed the RFC 5649 integrity check");
    }

    @Test
    void unwrapUnderAnotherKekIsRefusedByKekId() {
        KeyWrap a = new KeyWrap(KeyEncryptionKey.of(KEK));
        byte[] other = KEK.clone();
        other[0] ^= 1;
        KeyWrap b = new KeyWrap(KeyEncryptionKey.of(other));
        byte[] wrapped = a.wrap(new byte[32]);
        assertThatThrownBy(() -> b.unwrap(wrapped, a.kekId()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("wrapped under KEK");
    }

    @Test
    void emptyKeyWrapsToEmpty() {
        KeyWrap wrap = new KeyWrap(KeyEncryptionKey.of(KEK));
        assertThat(wrap.wrap(new byte[0])).isEmpty();
        assertThat(wrap.unwrap(new byte[0], wrap.kekId())).isEmpty();
    }

    @Test
    void loadsHexKekFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("kek.hex");
        byte[] key = HEX.parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        KeyEncryptionKey.write(f, key);
        try (KeyEncryptionKey kek = KeyEncryptionKey.load(f)) {
            assertThat(kek.bytes()).isEqualTo(key);
            assertThat(kek.toString()).doesNotContain("0001020304");
        }
    }

    @Test
    void kekFileErrorsNameTheFileAndTheProblem(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("nope.hex");
        assertThatThrownBy(() -> KeyEncryptionKey.load(missing))
                .hasMessageStartingWith("KEK file " + missing + ": cannot read it");

        Path shortFile = dir.resolve("short.hex");
        writeOwnerOnly(shortFile, "00112233\n".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> KeyEncryptionKey.load(shortFile))
                .hasMessage("KEK file " + shortFile + ": expected 64 hexadecimal digits (32 bytes, e.g. "
                        + "`openssl rand -hex 32`), found 8 characters");

        Path notHex = dir.resolve("nothex.hex");
        writeOwnerOnly(notHex, ("zz" + "11".repeat(31)).getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> KeyEncryptionKey.load(notHex))
                .hasMessage("KEK file " + notHex + ": not hexadecimal at character 1");

        Path raw = dir.resolve("raw.bin");
        writeOwnerOnly(raw, new byte[32]);
        assertThatThrownBy(() -> KeyEncryptionKey.load(raw)).hasMessageContaining("expected 64 hexadecimal digits");

        Path zeros = dir.resolve("zeros.hex");
        writeOwnerOnly(zeros, "00".repeat(32).getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> KeyEncryptionKey.load(zeros)).hasMessageContaining("all equal");
    }

    @Test
    void kekFileOthersMayReadOrChangeIsRefusedNamingFileAndModeAndFix(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("kek.hex");
        KeyEncryptionKey.write(f, HEX.parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).as("write() makes it owner-only")
                .isEqualTo("rw-------");
        KeyEncryptionKey.load(f).close();

        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> KeyEncryptionKey.load(f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("KEK file " + f + ": permissions rw-r--r-- let its group or other users read it;"
                        + " allow its owner only (chmod 600 " + f + ")");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        assertThatThrownBy(() -> KeyEncryptionKey.load(f)).hasMessageContaining("permissions rw-r----- let its group");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-----w-"));
        assertThatThrownBy(() -> KeyEncryptionKey.load(f)).hasMessageContaining("other users change it");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("r--------"));
        KeyEncryptionKey.load(f).close();
    }

    private static void writeOwnerOnly(Path f, byte[] content) throws java.io.IOException {
        Files.write(f, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
    }
}
