package dev.keel.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.transform.EncryptionTransform;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * EspSa.close closes every thread's ciphers from the deleting thread while packets may be in
 * flight: on OpenSSL that must never free the native context under a running call (a crash, not
 * an exception). The worker's calls go on until they see "cipher closed".
 */
class OpenSslAeadCloseTest {

    @Test
    void closeFromAnotherThreadDuringPacketsIsSafe() throws Exception {
        Engines.assumeUsable(AeadEngine.OPENSSL);
        for (int trial = 0; trial < 20; trial++) {
            AeadCipher c = PacketCiphers.aead(EncryptionTransform.AES_GCM_16, new byte[20], AeadEngine.OPENSSL);
            CountDownLatch running = new CountDownLatch(1);
            AtomicReference<Throwable> ended = new AtomicReference<>();
            Thread worker = Thread.ofPlatform().start(() -> {
                byte[] aad = new byte[8];
                byte[] iv = new byte[8];
                byte[] buf = new byte[9016];
                try {
                    for (long i = 1; i < 5_000_000; i++) {
                        iv[0] = (byte) (i >>> 24);
                        iv[1] = (byte) (i >>> 16);
                        iv[2] = (byte) (i >>> 8);
                        iv[3] = (byte) i;
                        int n = c.seal(aad, 8, iv, 0, buf, 0, 9000);
                        if (c.open(aad, 8, iv, 0, buf, 0, n) != 9000) {
                            throw new AssertionError("round trip failed at " + i);
                        }
                        running.countDown();
                    }
                    ended.set(new AssertionError("never saw the close"));
                } catch (Throwable t) {
                    ended.set(t);
                }
            });
            assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(trial % 3);
            c.close();
            c.close();
            worker.join(10_000);
            assertThat(worker.isAlive()).isFalse();
            assertThat(ended.get()).isInstanceOf(IllegalStateException.class).hasMessage("cipher closed");
        }
    }
}
