package dev.keel.esp.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.rpc.KeelLog;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WiresharkKeyWriterTest {

    /** Another table, formatted by whoever holds its keys (ike-service's ikev2_decryption_table). */
    private static final String IKE_TABLE = "ikev2_decryption_table";
    private static final byte[] KEY = HexFormat.of().parseHex("5ec2e75ec2e75ec2e75ec2e75ec2e75e" + "5a175a17");

    @TempDir
    Path dir;

    @Test
    void exportIsOffByDefaultAndWritesNothing() throws Exception {
        WiresharkKeyWriter w = WiresharkKeyWriter.open(KeyExportConfig.disabled());

        assertThat(KeyExportConfig.disabled().enabled()).isFalse();
        assertThat(w.writeEsp(esp(1))).isFalse();
        assertThat(w.append(IKE_TABLE, () -> ike(1), "IKE SA 1")).isFalse();
        assertThat(w.espSaFile()).isNull();
        assertThat(dir).isEmptyDirectory();
    }

    @Test
    void enabledExportAppendsOneLinePerSaToOwnerOnlyFiles() throws Exception {
        Path target = dir.resolve("wireshark");
        WiresharkKeyWriter w = WiresharkKeyWriter.open(both(target));

        assertThat(w.writeEsp(esp(1))).isTrue();
        assertThat(w.writeEsp(esp(2))).isTrue();
        assertThat(w.append(IKE_TABLE, () -> ike(7), "IKE SA 7")).isTrue();

        assertThat(Files.readAllLines(target.resolve("esp_sa")))
                .containsExactly(EspSaTable.format(esp(1)), EspSaTable.format(esp(2)));
        assertThat(Files.readAllLines(target.resolve("ikev2_decryption_table")))
                .containsExactly(ike(7));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(target.resolve("esp_sa"))))
                .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(target))).isEqualTo("rwx------");
    }

    @Test
    void onlyTheSelectedTableIsWritten() throws Exception {
        WiresharkKeyWriter w = WiresharkKeyWriter.open(KeyExportConfig.of(dir, EspSaTable.FILE_NAME));

        assertThat(w.append(IKE_TABLE, () -> ike(1), "IKE SA 1")).isFalse();
        assertThat(w.writeEsp(esp(1))).isTrue();
        assertThat(dir.resolve("ikev2_decryption_table")).doesNotExist();
    }

    @Test
    void anAlgorithmWiresharkCannotNameIsSkippedNotWritten() throws Exception {
        WiresharkKeyWriter w = WiresharkKeyWriter.open(both(dir));

        assertThat(w.append(IKE_TABLE, () -> {
            throw new IllegalArgumentException("Wireshark's ikev2_decryption_table has no name for ENCR_CHACHA20_POLY1305");
        }, "IKE SA 1")).isFalse();
        assertThat(dir.resolve("ikev2_decryption_table")).doesNotExist();
    }

    @Test
    void concurrentWritersNeverInterleaveWithinALine() throws Exception {
        WiresharkKeyWriter w1 = WiresharkKeyWriter.open(both(dir));
        WiresharkKeyWriter w2 = WiresharkKeyWriter.open(both(dir));
        int threads = 8;
        int perThread = 250;
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int t = 0; t < threads; t++) {
                int base = t * perThread;
                WiresharkKeyWriter w = t % 2 == 0 ? w1 : w2;
                done.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        assertThat(w.writeEsp(esp(base + i))).isTrue();
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get();
            }
        }

        List<String> lines = Files.readAllLines(dir.resolve("esp_sa"));
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < threads * perThread; i++) {
            expected.add(EspSaTable.format(esp(i)));
        }
        assertThat(lines).hasSize(threads * perThread);
        assertThat(new HashSet<>(lines)).isEqualTo(expected);
    }

    @Test
    void startingAnEnabledExportWarnsLoudlyWithTheDirectoryAndNeverLogsKeys() throws Exception {
        // The writer's log records themselves (java.util.logging, where every Keel logger ends):
        // a handler on the package's logger, not stderr, whose console handler this JVM made earlier.
        List<String> records = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                records.add(KeelLog.level(r.getLevel()).name() + " " + new SimpleFormatter().formatMessage(r));
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger esp = Logger.getLogger("dev.keel.esp");
        esp.addHandler(capture);
        try {
            WiresharkKeyWriter w = WiresharkKeyWriter.open(both(dir));
            w.writeEsp(esp(3));
            w.append(IKE_TABLE, () -> ike(3), "IKE SA 3");
            Files.delete(dir.resolve("esp_sa"));
            Files.createDirectory(dir.resolve("esp_sa")); // make the next append fail
            assertThat(w.writeEsp(esp(4))).isFalse();
        } finally {
            esp.removeHandler(capture);
        }

        String log = String.join("\n", records);
        assertThat(log).contains("WARN", "PLAINTEXT", dir.toAbsolutePath().toString(), "esp_sa",
                "ikev2_decryption_table", "spi=0x4");
        assertThat(log.toLowerCase()).doesNotContain("5ec2e7", "5a175a17");
    }

    @Test
    void anExistingTableFileWithWiderPermissionsIsMadeOwnerOnly() throws Exception {
        // Issue 19: files that existed kept their mode, e.g. 0644 from an earlier copy: keys for everyone.
        Path esp = Files.writeString(dir.resolve("esp_sa"), "");
        Path ike = Files.writeString(dir.resolve("ikev2_decryption_table"), "");
        Files.setPosixFilePermissions(esp, PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(ike, PosixFilePermissions.fromString("rw-rw-rw-"));
        WiresharkKeyWriter w = WiresharkKeyWriter.open(both(dir));
        assertThat(mode(ike)).as("tightened at open").isEqualTo("rw-------");
        Files.setPosixFilePermissions(esp, PosixFilePermissions.fromString("rw-r--r--")); // widened while running
        assertThat(w.writeEsp(esp(1))).isTrue();
        assertThat(mode(esp)).isEqualTo("rw-------");
        assertThat(Files.readAllLines(esp)).containsExactly(EspSaTable.format(esp(1)));
    }

    @Test
    void keysAreNeverWrittenThroughASymbolicLink(@TempDir Path elsewhere) throws Exception {
        Path victim = Files.writeString(elsewhere.resolve("victim"), "untouched\n");
        Path link = Files.createSymbolicLink(dir.resolve("esp_sa"), victim);
        assertThatThrownBy(() -> WiresharkKeyWriter.open(both(dir)))
                .isInstanceOf(IOException.class).hasMessageContaining(link.toString())
                .hasMessageContaining("a symbolic link");

        Files.delete(link);
        WiresharkKeyWriter w = WiresharkKeyWriter.open(both(dir));
        Files.createSymbolicLink(link, victim); // planted after the start
        assertThat(w.writeEsp(esp(2))).isFalse();
        assertThat(Files.readString(victim)).isEqualTo("untouched\n");
        assertThat(mode(victim)).as("the link's target keeps its mode").isNotEqualTo("rw-------");

        Path linkedDir = Files.createSymbolicLink(dir.resolve("keys"), elsewhere);
        assertThatThrownBy(() -> WiresharkKeyWriter.open(both(linkedDir)))
                .isInstanceOf(IOException.class).hasMessageContaining("a symbolic link; give the real path");
    }

    @Test
    void aDirectoryOthersMayWriteToIsRefused() throws Exception {
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> WiresharkKeyWriter.open(both(shared)))
                .isInstanceOf(IOException.class).hasMessageContaining(shared.toString())
                .hasMessageContaining("lets group or others write");
        assertThat(shared).isEmptyDirectory();
    }

    @Test
    void aDirectoryOfAnotherUserIsRefused() throws Exception {
        dev.keel.esp.wire.SystemTests.assumeRoot(); // only root can give a directory away
        Path theirs = Files.createDirectory(dir.resolve("theirs"));
        Files.setAttribute(theirs, "unix:uid", 65534);
        assertThatThrownBy(() -> WiresharkKeyWriter.open(both(theirs)))
                .isInstanceOf(IOException.class).hasMessageContaining("owned by uid 65534");
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }

    private static EspSaKeys esp(int spi) {
        return new EspSaKeys(InetAddress.ofLiteral("192.0.2.1"), InetAddress.ofLiteral("192.0.2.2"), spi,
                EncryptionTransform.AES_GCM_16, KEY, IntegrityTransform.NONE, new byte[0]);
    }

    /** A line of the other table: its writer formats it, this one only appends it. */
    private static String ike(long spi) {
        return String.format("%016x,%016x,", spi, ~spi) + HexFormat.of().formatHex(KEY);
    }

    private static KeyExportConfig both(Path dir) {
        return KeyExportConfig.of(dir, EspSaTable.FILE_NAME, IKE_TABLE);
    }
}
