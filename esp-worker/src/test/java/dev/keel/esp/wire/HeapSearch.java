package dev.keel.esp.wire;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Which secrets the live heap still holds (key hygiene tests): a heap dump of the live objects (a
 * full GC first) searched, outside the heap, for byte strings. The caller keeps what it looks for
 * {@linkplain #mask masked} (each byte XOR 0x5a), so its own copies are not what the search finds.
 */
public final class HeapSearch {

    private static final int MASK = 0x5a;

    private HeapSearch() {
    }

    /** {@code secret} masked for {@link #liveHeapHolds}. */
    public static byte[] mask(byte[] secret) {
        byte[] m = new byte[secret.length];
        for (int i = 0; i < secret.length; i++) {
            m[i] = (byte) (secret[i] ^ MASK);
        }
        return m;
    }

    /**
     * Dumps the live heap into {@code dir} and returns, for each masked secret found (unmasked) in
     * it, "secret i (n bytes) at offset o"; the dump is deleted after.
     */
    public static List<String> liveHeapHolds(Path dir, List<byte[]> masked) throws IOException {
        Path dump = Files.createTempFile(dir, "heap", ".hprof");
        Files.delete(dump); // dumpHeap refuses an existing file
        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).dumpHeap(dump.toString(), true);
        try (FileChannel ch = FileChannel.open(dump, StandardOpenOption.READ)) {
            List<String> found = new ArrayList<>();
            for (int k = 0; k < masked.size(); k++) {
                long at = find(ch, masked.get(k));
                if (at >= 0) {
                    found.add("secret " + k + " (" + masked.get(k).length + " bytes) at offset " + at);
                }
            }
            return found;
        } finally {
            Files.deleteIfExists(dump);
        }
    }

    /** The offset of the first occurrence of the unmasked {@code m} in the file, or -1. */
    private static long find(FileChannel ch, byte[] m) throws IOException {
        long size = ch.size();
        int first = (m[0] ^ MASK) & 0xff;
        long chunk = 256L << 20;
        for (long base = 0; base < size; base += chunk - m.length) {
            MappedByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, base, Math.min(chunk, size - base));
            int limit = buf.limit() - m.length;
            for (int i = 0; i <= limit; i++) {
                if ((buf.get(i) & 0xff) != first) {
                    continue;
                }
                int j = 1;
                while (j < m.length && buf.get(i + j) == (byte) (m[j] ^ MASK)) {
                    j++;
                }
                if (j == m.length) {
                    return base + i;
                }
            }
            if (base + chunk >= size) {
                break;
            }
        }
        return -1;
    }
}
