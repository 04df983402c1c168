package dev.keel.esp.config;

import dev.keel.esp.forward.StaticSaPair;
import dev.keel.esp.raw.OuterTransport;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A validated esp-worker configuration with static keying (docs/static-keying.md). It holds
 * key material: {@link #destroyKeys()} wipes it when the gateway no longer needs it.
 *
 * @param listen the outer UDP address (port 4500 in production)
 * @param loops event loops, one UDP socket and one plaintext queue each
 * @param keepalive NAT keepalive interval, zero for none
 * @param plaintext the plaintext side
 * @param exportKeys directory for Wireshark's {@code esp_sa} table, or null for none
 * @param sas the static SA pairs, in file order
 * @param transport how ESP travels to the peers: in UDP ({@code listen}'s port) or raw IP protocol 50
 */
public record WorkerConfig(InetSocketAddress listen, int loops, Duration keepalive, PlaintextConfig plaintext,
        Path exportKeys, List<NamedSaPair> sas, OuterTransport transport) {

    public WorkerConfig {
        sas = List.copyOf(sas);
        java.util.Objects.requireNonNull(transport, "transport");
    }

    /** A configuration with ESP-in-UDP, the default transport. */
    public WorkerConfig(InetSocketAddress listen, int loops, Duration keepalive, PlaintextConfig plaintext,
            Path exportKeys, List<NamedSaPair> sas) {
        this(listen, loops, keepalive, plaintext, exportKeys, sas, OuterTransport.UDP_ENCAP);
    }

    /** The SA pairs alone, for {@code StaticGateway.Config}. */
    public List<StaticSaPair> saPairs() {
        return sas.stream().map(NamedSaPair::pair).toList();
    }

    /** Zeroizes every key. */
    public void destroyKeys() {
        for (NamedSaPair s : sas) {
            s.pair().inbound().destroyKeys();
            s.pair().outbound().destroyKeys();
        }
    }
}
