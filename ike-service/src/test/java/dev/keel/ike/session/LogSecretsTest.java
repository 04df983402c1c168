package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.SecretForms;
import dev.keel.ike.crypto.IkeSaKeys;
import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogLine;
import dev.keel.rpc.KeelLog;
import dev.keel.rpc.LogSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * No key, nonce or pre-shared key reaches the log at any level (DESIGN §5): every subsystem at
 * TRACE through a whole IKE SA life (setup, a CHILD SA rekey, a failed authentication, delete), and
 * every line searched for every secret of it in the forms a careless log call would print
 * ({@link SecretForms}).
 */
class LogSecretsTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String PSK = "log-secrets-test-psk-7f3a9c";

    @Test
    void noSecretReachesTheLogAtTrace() throws Exception {
        KeelLog.install(LogSettings.parse("trace", false));
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            if (h instanceof ConsoleHandler) {
                root.removeHandler(h); // the tap sees every line; the build log need not
            }
        }
        List<LogLine> lines = new CopyOnWriteArrayList<>();
        List<byte[]> secrets = new ArrayList<>();
        secrets.add(PSK.getBytes(StandardCharsets.UTF_8));
        try (AutoCloseable tap = KeelLog.tap().subscribe(LogLevel.LOG_LEVEL_TRACE, Set.of(), lines::add);
                TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", PSK, PSK, "10.2.0.0/16", "10.2.0.0/16");
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(30, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(10), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            keep(secrets, sa);
            ChildSa child = peers.aliceEvents.children.peek();
            keep(secrets, child);
            peers.alice.rekeyChild(sa, child.inboundSpi());
            Eventually.until(Duration.ofSeconds(10), "rekeyed", () -> peers.aliceEvents.children.size() == 2);
            keep(secrets, List.copyOf(peers.aliceEvents.children).getLast());
            peers.alice.terminate(sa);
            Eventually.until(Duration.ofSeconds(10), "deleted", () -> peers.bob.ikeSaCount() == 0);

            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", PSK, PSK + "-wrong", "10.2.0.0/16",
                    "10.2.0.0/16");
            assertThat(peers.alice.initiate("to-bob", "net")).failsWithin(Duration.ofSeconds(30));
        } finally {
            KeelLog.install(LogSettings.DEFAULT);
        }

        assertThat(lines).as("TRACE logs something to search").hasSizeGreaterThan(10);
        String log = String.join("\n", lines.stream().map(LogLine::getMessage).toList());
        Map<String, byte[]> named = new LinkedHashMap<>();
        for (int i = 0; i < secrets.size(); i++) {
            named.put("secret " + i, secrets.get(i));
        }
        assertThat(SecretForms.findIn(log, named)).as("secrets in the log").isEmpty();
    }

    private static void keep(List<byte[]> secrets, IkeSa sa) {
        IkeSaKeys k = sa.keys();
        for (byte[] b : List.of(k.skD(), k.skAi(), k.skAr(), k.skEi(), k.skEr(), k.skPi(), k.skPr(), sa.ni(), sa.nr())) {
            if (b.length > 0) {
                secrets.add(b.clone());
            }
        }
    }

    private static void keep(List<byte[]> secrets, ChildSa c) {
        for (byte[] b : List.of(c.outboundEncryptionKey(), c.inboundEncryptionKey())) {
            secrets.add(b.clone());
        }
    }
}
