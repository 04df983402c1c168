package dev.keel.esp.packet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.InnerPacketPolicy;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.esp.wire.HeapSearch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data plane's keys do not outlive their SA (issue 16, key hygiene): an SA pair of every suite
 * carries packets (so every per-thread cipher context is keyed), then is closed as a delete closes
 * it; the live heap ({@link HeapSearch}) must then hold no encryption or integrity key of any of
 * them. A first search, while the SAs live, must find every key: the search works.
 */
@Timeout(120)
class EspKeysZeroedTest {

    @Test
    void noKeyOfAClosedSaIsLeftInTheHeap(@TempDir Path dir) throws Exception {
        List<byte[]> masked = new ArrayList<>();
        List<AutoCloseable> sas = new ArrayList<>();
        EspCounters counters = new EspCounters();
        InboundSaTable table = new InboundSaTable();
        EspEncapsulator encap = new EspEncapsulator(counters);
        EspDecapsulator decap = new EspDecapsulator(table, counters);
        PacketBuffer pkt = new PacketBuffer(2048);
        byte[] inner = InnerPackets.ipv4(17, 200, 1);
        int spi = 0x7000;
        for (Suites suite : Suites.values()) {
            spi++;
            OutboundSa out = new OutboundSa(suite.spec(spi, IpsecMode.TUNNEL, true), null);
            InboundSa in = new InboundSa(suite.spec(spi, IpsecMode.TUNNEL, true), InnerPacketPolicy.ANY);
            table.put(in);
            for (int i = 0; i < 3; i++) {
                pkt.set(inner, 0, inner.length);
                assertThat(encap.encapsulate(out, pkt)).isEqualTo(EncapOutcome.PROTECTED);
                assertThat(decap.decapsulate(pkt)).as(suite.name()).isEqualTo(DecapOutcome.DELIVERED);
            }
            sas.add(out);
            sas.add(in);
            if (suite.keyLength >= 16) {
                masked.add(HeapSearch.mask(Arrays.copyOf(suite.encryptionKey(spi), suite.keyLength)));
            }
            byte[] integrity = suite.integrityKey(spi);
            if (integrity != null) {
                masked.add(HeapSearch.mask(integrity));
            }
        }
        assertThat(HeapSearch.liveHeapHolds(dir, masked)).as("keys of the live SAs found in the heap")
                .hasSize(masked.size());

        for (AutoCloseable sa : sas) {
            sa.close();
        }
        for (int s = 0x7001; s <= spi; s++) {
            table.remove(s);
        }
        assertThat(HeapSearch.liveHeapHolds(dir, masked)).as("keys of the closed SAs still in the live heap")
                .isEmpty();
    }
}
