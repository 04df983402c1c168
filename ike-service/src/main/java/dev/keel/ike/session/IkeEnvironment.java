package dev.keel.ike.session;

import dev.keel.ike.net.IkeTransport;
import java.security.SecureRandom;

/**
 * What every IKE SA of one engine shares: where messages go, who hears about SAs, randomness,
 * SPI allocation, the connections and the retransmission policy.
 *
 * @param ikePort   the local port serving as IKE's 500
 * @param natTPort  the local port serving as 4500
 * @param uniqueIds where IKE and CHILD SAs get their unique ids
 * @param fragmentSize the largest IP datagram of an IKE fragment (RFC 7383), headers included;
 *                  0: the address family's minimum MTU ({@code fragment_size})
 */
public record IkeEnvironment(IkeTransport transport, IkeEvents events, SecureRandom random, SpiAllocator spis,
        ConnectionDirectory connections, RetransmitPolicy retransmit, IkeCounters counters, int ikePort,
        int natTPort, UniqueIds uniqueIds, int fragmentSize) {
}
