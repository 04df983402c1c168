package dev.keel.rpc;

import java.util.Arrays;

/**
 * A gRPC fuzz target's input split in two: the first byte picks the RPC ({@code rpc}, modulo the
 * service's count of RPCs), the rest is the request message's bytes, for the RPC's parser.
 */
public record FuzzedCall<E extends Enum<E>>(E rpc, byte[] request) {

    /** Splits {@code input}, or null when it is empty (no RPC to call). */
    public static <E extends Enum<E>> FuzzedCall<E> of(byte[] input, Class<E> rpcs) {
        if (input.length == 0) {
            return null;
        }
        E[] all = rpcs.getEnumConstants();
        return new FuzzedCall<>(all[Byte.toUnsignedInt(input[0]) % all.length], Arrays.copyOfRange(input, 1, input.length));
    }
}
