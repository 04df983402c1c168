package dev.keel.esp.sa;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.packet.Suites;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Lookups by SPI, replacement and removal, and a batch of changes that readers see all at once. */
class InboundSaTableTest {

    private final InboundSaTable table = new InboundSaTable();

    private static InboundSa sa(int spi) {
        return new InboundSa(Suites.AES128_GCM16.spec(spi, IpsecMode.TUNNEL, true), InnerPacketPolicy.ANY);
    }

    @Test
    void putReplacesBySpiAndRemoveReturnsTheSa() {
        InboundSa a = sa(0x100);
        InboundSa b = sa(0x100);
        assertThat(table.put(a)).isNull();
        assertThat(table.put(b)).isSameAs(a);
        assertThat(table.lookup(0x100)).isSameAs(b);
        assertThat(table.remove(0x100)).isSameAs(b);
        assertThat(table.remove(0x100)).isNull();
        assertThat(table.lookup(0x100)).isNull();
        assertThat(table.size()).isZero();
    }

    @Test
    void manySequentialSpisAllFoundAcrossGrowth() {
        List<InboundSa> all = new ArrayList<>();
        table.batch(() -> {
            for (int i = 0; i < 3_000; i++) {
                InboundSa s = sa(0x1000 + i);
                all.add(s);
                table.put(s);
            }
        });
        for (int i = 0; i < 3_000; i += 2) {
            table.remove(0x1000 + i);
        }
        assertThat(table.size()).isEqualTo(1_500);
        for (int i = 0; i < 3_000; i++) {
            assertThat(table.lookup(0x1000 + i)).isSameAs(i % 2 == 0 ? null : all.get(i));
        }
        assertThat(table.lookup(0x0fff)).isNull();
    }

    @Test
    void aBatchIsPublishedOnceAtItsEndWithItsLastChangePerSpi() {
        InboundSa old = sa(0x101);
        InboundSa gone = sa(0x102);
        table.put(old);
        table.put(gone);
        InboundSa replacement = sa(0x101);
        InboundSa added = sa(0x103);
        InboundSa addedThenRemoved = sa(0x104);
        table.batch(() -> {
            assertThat(table.put(replacement)).isSameAs(old);
            table.put(added);
            table.put(addedThenRemoved);
            assertThat(table.remove(0x102)).isSameAs(gone);
            assertThat(table.remove(0x104)).isSameAs(addedThenRemoved);
            table.batch(() -> table.put(sa(0x105))); // nested: still one publication, at the outer end
            // Readers (the data plane) still see the table as it was before the batch.
            assertThat(table.lookup(0x101)).isSameAs(old);
            assertThat(table.lookup(0x102)).isSameAs(gone);
            assertThat(table.lookup(0x103)).isNull();
            assertThat(table.lookup(0x105)).isNull();
            assertThat(table.size()).isEqualTo(2);
            // Writers see their own changes.
            assertThat(table.current(0x101)).isSameAs(replacement);
            assertThat(table.current(0x102)).isNull();
            assertThat(table.current(0x103)).isSameAs(added);
        });
        assertThat(table.lookup(0x101)).isSameAs(replacement);
        assertThat(table.lookup(0x102)).isNull();
        assertThat(table.lookup(0x103)).isSameAs(added);
        assertThat(table.lookup(0x104)).isNull();
        assertThat(table.lookup(0x105)).isNotNull();
        assertThat(table.size()).isEqualTo(3);
        assertThat(table.all()).hasSize(3);
    }

    @Test
    void aBatchThatThrowsStillPublishesWhatItChanged() {
        InboundSa a = sa(0x107);
        try {
            table.batch(() -> {
                table.put(a);
                throw new IllegalStateException("a bad record");
            });
        } catch (IllegalStateException expected) {
            // the writer's map and the readers' table must not disagree afterwards
        }
        assertThat(table.lookup(0x107)).isSameAs(a);
    }
}
