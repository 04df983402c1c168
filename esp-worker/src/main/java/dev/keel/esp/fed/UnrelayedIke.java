package dev.keel.esp.fed;

import dev.keel.esp.net.IkeHandoff;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The IKE hand-off of a worker without a relay to ike-service ({@code ike.relay: none}): IKE
 * datagrams arriving on the outer socket behind the non-ESP marker (RFC 3948 §2.2) are dropped
 * and counted, and the first one is logged, once, saying why. Never blocks: an event loop calls it.
 */
final class UnrelayedIke implements IkeHandoff {

    private static final Logger LOG = LoggerFactory.getLogger(UnrelayedIke.class);

    private final LongAdder dropped = new LongAdder();
    private final AtomicBoolean logged = new AtomicBoolean();

    @Override
    public void onIkeMessage(byte[] buf, int off, int len, InetSocketAddress peer) {
        dropped.increment();
        if (!logged.getAndSet(true)) {
            LOG.warn("IKE message from {} dropped: no IKE relay to ike-service is configured (ike.relay: none);"
                    + " further ones are only counted", peer);
        }
    }

    /** IKE messages dropped so far. */
    long dropped() {
        return dropped.sum();
    }
}
