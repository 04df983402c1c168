package dev.keel.ike.task;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The NAT detection hash of RFC 7296 §2.23: SHA-1 over SPIi, SPIr, the IP address and the port,
 * in network byte order. The expected digests were computed with Python's hashlib over
 * {@code struct.pack(">QQ", spiI, spiR) + inet_pton(ip) + struct.pack(">H", port)}.
 */
class NatDetectHashTest {

    private static final long SPI_I = 0x0102030405060708L;
    private static final long SPI_R = 0x1112131415161718L;

    @Test
    void hashesBothSpisTheIpv4AddressAndThePort() {
        assertThat(hex(NatDetectTask.hash(SPI_I, SPI_R, new InetSocketAddress("192.0.2.1", 500))))
                .isEqualTo("d798d986143f878f70765e0e869c80bbc375f701");
        assertThat(hex(NatDetectTask.hash(SPI_I, SPI_R, new InetSocketAddress("198.51.100.7", 4500))))
                .isEqualTo("09aefdcb65602faed1067c64e3e64e39122f5e3f");
    }

    @Test
    void theSameAddressOnAnotherPortIsAnotherHash() {
        // a NAT that keeps the address but maps the port is still a NAT
        assertThat(hex(NatDetectTask.hash(SPI_I, SPI_R, new InetSocketAddress("192.0.2.1", 0))))
                .isEqualTo("76bed9d3e34533e12721e2fe660c7d9bf3e29b0b");
    }

    @Test
    void hashesAnIpv6AddressWithItsSixteenBytesAndAZeroResponderSpiInTheRequest() {
        // IKE_SA_INIT request: SPIr is still zero (§2.23 "in the initial exchange")
        assertThat(hex(NatDetectTask.hash(SPI_I, 0, new InetSocketAddress("2001:db8::1", 500))))
                .isEqualTo("7fa12a60a3a27ef1b3fed26cc6d5b8fbf553292f");
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
