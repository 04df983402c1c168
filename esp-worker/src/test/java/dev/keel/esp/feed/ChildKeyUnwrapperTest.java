package dev.keel.esp.feed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.proto.ChildKeyUnwrapper;
import dev.keel.sad.keys.KeyEncryptionKey;
import dev.keel.sad.keys.KeyWrap;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The worker unwraps what sad-service wraps: RFC 5649 §6 vectors, and sad-service's own KeyWrap. */
class ChildKeyUnwrapperTest {

    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] RFC_KEK = HEX.parseHex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");

    @Test
    void rfc5649Vectors() {
        ChildKeyUnwrapper u = new ChildKeyUnwrapper(RFC_KEK);
        int id = u.kekId();
        assertThat(u.unwrap(HEX.parseHex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"), id))
                .isEqualTo(HEX.parseHex("c37b7e6492584340bed12207808941155068f738"));
        assertThat(u.unwrap(HEX.parseHex("afbeb0f07dfbf5419200f2ccb50bb24f"), id))
                .isEqualTo(HEX.parseHex("466f7250617369"));
    }

    @Test
    void loadsTheMembersKekFileAndRefusesABadOne(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        byte[] kek = new byte[32];
        new SecureRandom().nextBytes(kek);
        java.nio.file.Path file = dir.resolve("kek.hex");
        KeyEncryptionKey.write(file, kek); // the format and mode sad-service reads
        assertThat(ChildKeyUnwrapper.load(file).kekId()).isEqualTo(KeyEncryptionKey.of(kek).id());

        java.nio.file.Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions
                .fromString("rw-r-----"));
        assertThatThrownBy(() -> ChildKeyUnwrapper.load(file)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(file + ": permissions rw-r-----").hasMessageContaining("chmod 600");
        java.nio.file.Path shortKey = dir.resolve("short.hex");
        KeyEncryptionKey.write(shortKey, new byte[32]);
        java.nio.file.Files.writeString(shortKey, "00112233\n");
        assertThatThrownBy(() -> ChildKeyUnwrapper.load(shortKey)).hasMessage(shortKey
                + ": not the hex of a 16, 24 or 32 byte KEK (the file the sad-service members load)");
        java.nio.file.Path text = dir.resolve("text.hex");
        KeyEncryptionKey.write(text, new byte[32]);
        java.nio.file.Files.writeString(text, "secret words here\n");
        assertThatThrownBy(() -> ChildKeyUnwrapper.load(text)).hasMessageContaining("not the hex")
                .hasMessageNotContaining("secret");
        assertThatThrownBy(() -> ChildKeyUnwrapper.load(dir.resolve("none.hex")))
                .hasMessage(dir.resolve("none.hex") + ": cannot be read (NoSuchFileException)");
    }

    @Test
    void unwrapsSadServiceKeysAndAgreesOnTheKekId() {
        byte[] kek = new byte[32];
        new SecureRandom().nextBytes(kek);
        KeyWrap sad = new KeyWrap(KeyEncryptionKey.of(kek));
        ChildKeyUnwrapper u = new ChildKeyUnwrapper(kek);
        assertThat(u.kekId()).isEqualTo(sad.kekId());
        for (int len : new int[] {0, 20, 36, 64}) {
            byte[] key = new byte[len];
            new SecureRandom().nextBytes(key);
            assertThat(u.unwrap(sad.wrap(key), sad.kekId())).isEqualTo(key);
        }
    }

    @Test
    void wrongKekAndTamperingFailWithoutKeyBytes() {
        ChildKeyUnwrapper u = new ChildKeyUnwrapper(RFC_KEK);
        byte[] wrapped = HEX.parseHex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
        assertThatThrownBy(() -> u.unwrap(wrapped, u.kekId() ^ 1)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("KEK");
        wrapped[5] ^= 1;
        assertThatThrownBy(() -> u.unwrap(wrapped, u.kekId())).isInstanceOf(IllegalStateException.class)
                .hasMessage("wrapped key failed the RFC 5649 integrity check");
        // The thread's cipher is not left broken by the failure.
        wrapped[5] ^= 1;
        assertThat(u.unwrap(wrapped, u.kekId())).isEqualTo(HEX.parseHex("c37b7e6492584340bed12207808941155068f738"));
    }
}
