package dev.keel.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The engine selection of {@link AeadEngine} with the default {@code keel.crypto.engine=auto}. */
class AeadEngineTest {

    @Test
    void autoSelectsOpenSslWhenItLoadsAndPassesTheSelfTest() {
        String forced = System.getProperty(AeadEngine.PROPERTY);
        if (AeadEngine.openSslUsable()) {
            assertThat(AeadEngine.selfTest()).isNull();
        } else {
            Engines.assumeUsable(AeadEngine.OPENSSL);  // skips (fails in CI) with the reason
        }
        if (forced == null || forced.equals("auto")) {
            assertThat(AeadEngine.selected()).isEqualTo(AeadEngine.OPENSSL);
            assertThat(AeadEngine.selectionReason()).contains("self-test");
            assertThat(PacketCiphers.aead(dev.keel.core.transform.EncryptionTransform.AES_GCM_16, new byte[20]))
                    .isInstanceOf(OpenSslAead.class);
        }
    }
}
