package dev.keel.gateway;

import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keel-wire-probe}: plays the two hosts behind a pair of virtual-wire gateways. It sends
 * IPv4/UDP packets as host A into gateway A's virtual wire and checks each one comes out of
 * gateway B's, byte for byte, and the reply the other way: traffic through the tunnel without
 * TUN devices or root.
 */
@Command(name = "keel-wire-probe", mixinStandardHelpOptions = true,
        description = "Sends packets through two Keel gateways' virtual wires and checks they arrive intact.")
public final class VirtualWireProbe implements Callable<Integer> {

    @Option(names = "--host-a", defaultValue = "127.0.0.1:21001", description = "host A's socket (gateway A's virtual_wire.host)")
    String hostA;
    @Option(names = "--wire-a", defaultValue = "127.0.0.1:20001", description = "gateway A's virtual_wire.bind")
    String wireA;
    @Option(names = "--host-b", defaultValue = "127.0.0.2:21002", description = "host B's socket (gateway B's virtual_wire.host)")
    String hostB;
    @Option(names = "--wire-b", defaultValue = "127.0.0.2:20002", description = "gateway B's virtual_wire.bind")
    String wireB;
    @Option(names = "--src", defaultValue = "10.1.0.5", description = "inner source (in A's protected subnet)")
    String src;
    @Option(names = "--dst", defaultValue = "10.2.0.7", description = "inner destination (in B's protected subnet)")
    String dst;
    @Option(names = {"-n", "--count"}, defaultValue = "5", description = "round trips")
    int count;

    public static void main(String[] args) {
        System.exit(new CommandLine(new VirtualWireProbe()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        byte[] a = java.net.InetAddress.getByName(src).getAddress();
        byte[] b = java.net.InetAddress.getByName(dst).getAddress();
        try (DatagramChannel chA = open(hostA); DatagramChannel chB = open(hostB)) {
            int ok = 0;
            for (int i = 0; i < count; i++) {
                byte[] there = udp(a, b, 40000 + i, 7, ("keel probe " + i + " A->B").getBytes());
                long t0 = System.nanoTime();
                chA.send(ByteBuffer.wrap(there), endpoint(wireA));
                byte[] got = receive(chB);
                byte[] back = udp(b, a, 7, 40000 + i, ("keel probe " + i + " B->A").getBytes());
                chB.send(ByteBuffer.wrap(back), endpoint(wireB));
                byte[] gotBack = receive(chA);
                boolean good = Arrays.equals(there, got) && Arrays.equals(back, gotBack);
                ok += good ? 1 : 0;
                System.out.printf("probe %d: %s -> %s and back through the tunnel: %s (%.1f ms)%n", i, src, dst,
                        good ? "intact" : got == null || gotBack == null ? "LOST" : "CORRUPTED",
                        (System.nanoTime() - t0) / 1e6);
            }
            System.out.println(ok + "/" + count + " round trips intact");
            return ok == count ? 0 : 1;
        }
    }

    private static DatagramChannel open(String endpoint) throws Exception {
        DatagramChannel ch = DatagramChannel.open();
        ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        ch.bind(endpoint(endpoint));
        ch.configureBlocking(false);
        return ch;
    }

    private static InetSocketAddress endpoint(String text) {
        int colon = text.lastIndexOf(':');
        return new InetSocketAddress(text.substring(0, colon), Integer.parseInt(text.substring(colon + 1)));
    }

    private static byte[] receive(DatagramChannel ch) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(2048);
        long deadline = System.nanoTime() + 3_000_000_000L;
        while (ch.receive(buf) == null) {
            if (System.nanoTime() > deadline) {
                return null;
            }
            Thread.sleep(1);
        }
        return Arrays.copyOf(buf.array(), buf.position());
    }

    /** An IPv4/UDP packet with valid header checksum (UDP checksum 0: optional over IPv4, RFC 768). */
    private static byte[] udp(byte[] src, byte[] dst, int sport, int dport, byte[] payload) {
        int len = 28 + payload.length;
        ByteBuffer p = ByteBuffer.allocate(len);
        p.put((byte) 0x45).put((byte) 0).putShort((short) len).putShort((short) 0).putShort((short) 0x4000)
                .put((byte) 64).put((byte) 17).putShort((short) 0).put(src).put(dst);
        p.putShort((short) sport).putShort((short) dport).putShort((short) (8 + payload.length)).putShort((short) 0)
                .put(payload);
        byte[] b = p.array();
        int sum = 0;
        for (int i = 0; i < 20; i += 2) {
            sum += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        }
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        b[10] = (byte) (~sum >>> 8);
        b[11] = (byte) ~sum;
        return b;
    }
}
