package dev.keel.ike.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keel.ike.message.IkeMessage;

/**
 * {@link IkeMessage#decode} on what arrives from the network before any keys exist (the engine's
 * first step for every datagram on port 500, and on 4500 after the non-ESP marker): an outcome
 * with a reason, never an exception. Seeds: strongSwan's datagrams (bench/fuzz/capture-ike-seeds.sh).
 */
class IkeMessageFuzzTest {

    @FuzzTest(maxDuration = "15s")
    void decode(byte[] datagram) {
        IkeFuzzing.checkOutcome(datagram, IkeMessage.decode(datagram, null));
    }
}
