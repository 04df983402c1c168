package dev.keel.gateway.interop;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * An ESP-in-UDP flood (RFC 3948, to port 4500) of three kinds of packet, interleaved one by one,
 * each a drop reason of the receiver's ({@code DecapOutcome}): an SPI the receiver has no SA for
 * ({@code UNKNOWN_SPI}); the tunnel's real inbound SPI with a sequence number ahead of the window
 * and random bytes for IV, ciphertext and ICV ({@code ICV_FAILURE}: only the ICV can reject it);
 * the real SPI with a sequence number far below the window ({@code REPLAYED}, RFC 4303 §3.4.3).
 * The sequence numbers assume a CHILD SA without ESN (with ESN a number below the window would be
 * read as the next epoch's, RFC 4303 Appendix A2.2, and fail the ICV instead).
 *
 * <p>{@code --threads} threads (1 by default), each with {@code --sockets} connected sockets
 * (distinct source ports, so the receiver's {@code SO_REUSEPORT} sockets all get a share), paced in
 * steps of at most 200 µs to {@code --rate} packets a second in all, or unpaced with {@code --rate 0}. Prints {@code esp-flood: sending} once its
 * sockets are open, then after {@code --seconds} one JSON line: packets sent by kind, send errors,
 * the seconds it ran, the rate reached in packets and in Mbit/s of UDP payload, and the CPU seconds
 * this JVM used (start-up included).
 *
 * <p>Usage: {@code EspFlood --target 192.0.2.1:4500 --spi c0ffee01 --rate 50000 --seconds 10
 * [--size 1000] [--threads 1] [--sockets 8]} (run in the peer's namespace; {@link EspFloodTest} does).
 */
public final class EspFlood {

    /** ESP header (SPI, sequence number) and the 8-byte IV of AES-GCM / ChaCha20-Poly1305. */
    private static final int HEADER = 16;
    private static final int ICV = 16;
    private static final String[] KINDS = {"unknown_spi", "bad_icv", "replay"};

    private EspFlood() {
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> a = options(args);
        String[] target = a.get("target").split(":(?=[0-9]+$)");
        InetSocketAddress to = new InetSocketAddress(target[0].replaceAll("[\\[\\]]", ""), Integer.parseInt(target[1]));
        int realSpi = Integer.parseUnsignedInt(a.get("spi"), 16);
        long rate = Long.parseLong(a.getOrDefault("rate", "0"));
        double seconds = Double.parseDouble(a.getOrDefault("seconds", "10"));
        int size = Integer.parseInt(a.getOrDefault("size", "1000"));
        int socketCount = Integer.parseInt(a.getOrDefault("sockets", "8"));
        if (size < HEADER + ICV + 4 || (size - HEADER - ICV) % 4 != 0 || size > 1472) {
            throw new IllegalArgumentException("--size: an ESP packet of 36..1472 bytes whose ciphertext is whole"
                    + " 4-byte words (RFC 4303 §2.4), not " + size);
        }
        int threads = Integer.parseInt(a.getOrDefault("threads", "1"));
        long[][] counts = new long[threads][];
        Thread[] senders = new Thread[threads];
        byte[] pool = new byte[1 << 20];
        new SplittableRandom().nextBytes(pool);
        DatagramChannel[][] sockets = new DatagramChannel[threads][socketCount];
        for (DatagramChannel[] own : sockets) {
            for (int i = 0; i < socketCount; i++) {
                own[i] = DatagramChannel.open();
                own[i].connect(to);
            }
        }
        System.out.println("esp-flood: sending");
        System.out.flush();
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        for (int t = 0; t < threads; t++) {
            int me = t;
            senders[t] = Thread.ofPlatform().start(() -> counts[me] = send(sockets[me], realSpi,
                    rate / (double) threads, start, end, size, pool, new SplittableRandom()));
        }
        long[] sent = new long[KINDS.length + 1];
        for (int t = 0; t < threads; t++) {
            try {
                senders[t].join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            for (int k = 0; k < sent.length; k++) {
                sent[k] += counts[t][k];
            }
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        long total = sent[0] + sent[1] + sent[2];
        StringBuilder json = new StringBuilder("{\"sent\": ").append(total);
        for (int k = 0; k < KINDS.length; k++) {
            json.append(", \"").append(KINDS[k]).append("\": ").append(sent[k]);
        }
        json.append(String.format(Locale.ROOT, ", \"send_errors\": %d, \"seconds\": %.3f, \"rate\": %d,"
                + " \"mbit_per_s\": %.1f, \"size\": %d, \"threads\": %d, \"sockets\": %d, \"cpu_seconds\": %.2f}",
                sent[KINDS.length], elapsed, Math.round(total / elapsed), total * size * 8 / elapsed / 1e6, size,
                threads, threads * socketCount, ProcessHandle.current().info().totalCpuDuration()
                        .map(d -> d.toNanos() / 1e9).orElse(-1.0)));
        System.out.println(json);
        for (DatagramChannel[] own : sockets) {
            for (DatagramChannel s : own) {
                s.close();
            }
        }
    }

    /**
     * One sender: from {@code start} until {@code end}, {@code rate} packets a second (0: as fast
     * as it goes) round-robin on {@code sockets}; returns the packets sent by kind, then the send errors.
     */
    private static long[] send(DatagramChannel[] sockets, int realSpi, double rate, long start, long end, int size,
            byte[] pool, SplittableRandom random) {
        ByteBuffer packet = ByteBuffer.allocateDirect(size);
        long[] sent = new long[KINDS.length + 1];
        long n = 0;
        for (long now = System.nanoTime(); now < end; now = System.nanoTime()) {
            long due = rate <= 0 ? n + 64 : (long) ((now - start) * (rate / 1e9));
            if (n >= due) {
                LockSupport.parkNanos(Math.min(200_000, (long) ((n + 1 - due) * 1e9 / rate)));
                continue;
            }
            for (; n < due; n++) {
                int kind = (int) (n % KINDS.length);
                int spi;
                int seq;
                switch (kind) {
                    case 0 -> {
                        do {
                            spi = random.nextInt();
                        } while (spi == realSpi || Integer.compareUnsigned(spi, 256) < 0); // 1..255 reserved, 0 is IKE
                        seq = 1 + random.nextInt(1 << 30);
                    }
                    case 1 -> {
                        spi = realSpi;
                        seq = 0x8000_0000 | random.nextInt(); // far ahead of a window that started at 1
                    }
                    default -> {
                        spi = realSpi;
                        seq = 1 + random.nextInt(1024); // far below a window that moved past 1,024 + its size
                    }
                }
                packet.clear();
                packet.putInt(spi).putInt(seq);
                packet.put(pool, random.nextInt(pool.length - size), size - 8).flip();
                try {
                    if (sockets[(int) (n % sockets.length)].write(packet) == size) {
                        sent[kind]++;
                    } else {
                        sent[KINDS.length]++;
                    }
                } catch (IOException e) { // e.g. an ICMP port unreachable reported on the next write
                    sent[KINDS.length]++;
                }
            }
        }
        return sent;
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value, got " + args[i]);
            }
            m.put(args[i].substring(2), args[i + 1]);
        }
        if (!m.containsKey("target") || !m.containsKey("spi")) {
            throw new IllegalArgumentException("usage: EspFlood --target HOST:PORT --spi HEX [--rate PPS]"
                    + " [--seconds S] [--size BYTES] [--sockets N]");
        }
        return m;
    }
}
