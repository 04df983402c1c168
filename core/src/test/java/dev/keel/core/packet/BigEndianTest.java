package dev.keel.core.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BigEndianTest {

    @Test
    void fieldsAreNetworkByteOrderAtAnyOffset() {
        byte[] b = new byte[11];
        BigEndian.putU16(b, 1, 0x1234);
        BigEndian.putInt(b, 3, 0x89abcdef);
        assertThat(b).startsWith(0, 0x12, 0x34, 0x89, 0xab, 0xcd, 0xef, 0);
        assertThat(BigEndian.getU16(b, 1)).isEqualTo(0x1234);
        assertThat(BigEndian.getInt(b, 3)).isEqualTo(0x89abcdef);

        BigEndian.putLong(b, 2, 0x0102030405060708L);
        assertThat(b).containsExactly(0, 0x12, 1, 2, 3, 4, 5, 6, 7, 8, 0);
        assertThat(BigEndian.getLong(b, 2)).isEqualTo(0x0102030405060708L);
    }

    @Test
    void u16IsUnsignedAndWritesOnlyTheLowBits() {
        byte[] b = new byte[4];
        BigEndian.putU16(b, 1, 0xabcdfffe);
        assertThat(b).containsExactly(0, 0xff, 0xfe, 0);
        assertThat(BigEndian.getU16(b, 1)).isEqualTo(0xfffe);
    }

    @Test
    void aFieldPastTheEndThrowsAndWritesNothing() {
        byte[] b = new byte[8];
        assertThatThrownBy(() -> BigEndian.putInt(b, 5, -1)).isInstanceOf(ArrayIndexOutOfBoundsException.class);
        assertThatThrownBy(() -> BigEndian.putU16(b, -1, -1)).isInstanceOf(ArrayIndexOutOfBoundsException.class);
        assertThat(b).containsOnly(0);
        assertThatThrownBy(() -> BigEndian.getU16(b, 7)).isInstanceOf(ArrayIndexOutOfBoundsException.class);
        assertThatThrownBy(() -> BigEndian.getLong(b, 1)).isInstanceOf(ArrayIndexOutOfBoundsException.class);
    }
}
