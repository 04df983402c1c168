package dev.keel.gateway;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** What the gateway tests on loopback share: free ports on their addresses, and bounded waits. */
final class LoopbackTesting {

    private LoopbackTesting() {
    }

    /**
     * A port P with P and P + 1 free for UDP on every one of {@code addresses} (IKE and NAT-T of
     * each gateway), never {@code avoid} or the port after it.
     */
    static int ikePortPair(List<String> addresses, int avoid) {
        Random random = new Random();
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = 20_000 + random.nextInt(30_000);
            if (port == avoid || port + 1 == avoid) {
                continue;
            }
            List<DatagramSocket> held = new ArrayList<>();
            try {
                for (String a : addresses) {
                    held.add(new DatagramSocket(new InetSocketAddress(a, port)));
                    held.add(new DatagramSocket(new InetSocketAddress(a, port + 1)));
                }
                return port;
            } catch (SocketException busy) {
                // another
            } finally {
                for (DatagramSocket s : held) {
                    s.close();
                }
            }
        }
        throw new IllegalStateException("no free UDP port pair on " + addresses);
    }

    /** A TCP port free on the loopback address now. */
    static int freeTcpPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The address of a literal. */
    static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits until {@code condition} holds, asking every 5 ms; fails naming {@code what} after {@code millis}. */
    static void await(BooleanSupplier condition, long millis, String what) throws InterruptedException {
        await(condition, millis, what, 5);
    }

    /** As {@link #await(BooleanSupplier, long, String)}, asking every {@code pollMillis} (for conditions that cost). */
    static void await(BooleanSupplier condition, long millis, String what, long pollMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + millis + " ms waiting for: " + what);
            }
            Thread.sleep(pollMillis);
        }
    }
}
