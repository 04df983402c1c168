package dev.keel.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.transform.EncryptionTransform;
import org.junit.jupiter.api.Test;

/** RFC 2410: NULL encryption is the identity, takes no key and no IV. */
class NullCipherTest {

    @Test
    void rfc2410IsTheIdentity() {
        byte[] buf = {1, 2, 3, 4, 5, 6, 7, 8};
        byte[] copy = buf.clone();
        try (NormalCipher c = PacketCiphers.normal(EncryptionTransform.NULL, new byte[0])) {
            assertThat(c.transform()).isEqualTo(EncryptionTransform.NULL);
            assertThat(c.ivLength()).isZero();
            assertThat(c.blockSize()).isEqualTo(EncryptionTransform.NULL.blockSize()).isEqualTo(4);
            c.encrypt(new byte[0], 0, buf, 0, 8);
            assertThat(buf).isEqualTo(copy);
            assertThat(c.decrypt(new byte[0], 0, buf, 0, 8)).isTrue();
            assertThat(buf).isEqualTo(copy);
        }
    }

    @Test
    void nullKeyIsAcceptedAsEmpty() {
        assertThat(PacketCiphers.normal(EncryptionTransform.NULL, null).ivLength()).isZero();
    }

    @Test
    void rejectsAKeyAndMisalignedLengths() {
        assertThatThrownBy(() -> PacketCiphers.normal(EncryptionTransform.NULL, new byte[16]))
                .isInstanceOf(IllegalArgumentException.class);
        NormalCipher c = PacketCiphers.normal(EncryptionTransform.NULL, new byte[0]);
        assertThatThrownBy(() -> c.encrypt(new byte[0], 0, new byte[8], 0, 5))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(c.decrypt(new byte[0], 0, new byte[8], 0, 5)).isFalse();
    }
}
