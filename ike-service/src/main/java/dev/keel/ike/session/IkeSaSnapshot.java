package dev.keel.ike.session;

import dev.keel.core.proposal.Proposal;
import dev.keel.ike.crypto.IkeSaKeys;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * What the SAD keeps of an established IKE SA: enough for another node to carry it on after a
 * takeover (docs/ha.md, "IKE SA failover"). {@link IkeSa#snapshot()} takes one on the IKE SA's
 * thread after every exchange; {@code IkeEngine.adopt} makes an IKE SA of one.
 *
 * @param connection        the connection's name
 * @param remote            the peer's IKE endpoint, NAT-T port included
 * @param localPort         our IKE port: the engine's IKE port, or its NAT-T port after floating
 * @param keys              the seven secrets; the snapshot shares the IKE SA's object (read it on its thread)
 * @param nextRequestId     message ID of our next request (RFC 7296 §2.2)
 * @param expectedRequestId message ID of the peer's next request
 * @param requestInFlight   a request of ours with {@code nextRequestId} may have left: its snapshot is
 *                          stored before it leaves, and whether the peer processed it cannot be known
 * @param inFlightRekeyedChild when that request is a CHILD SA rekey, the inbound SPI of the CHILD SA it rekeys, else 0
 * @param inFlightNewChild  when that request is a CREATE_CHILD_SA, our inbound SPI of the pair it proposes, else 0
 * @param lastResponseId    message ID of {@code lastResponse}, -1 when there is none
 * @param lastResponse      the last response sent, as sent (the array is never changed), or null
 * @param peerMessageIdSync the peer announced IKEV2_MESSAGE_ID_SYNC_SUPPORTED (RFC 6311)
 * @param mobike            both sides announced MOBIKE_SUPPORTED in IKE_AUTH (RFC 4555 §3.2)
 * @param children          the CHILD SAs, in the order they were made
 * @param replaced          a rekey replaced this IKE SA (RFC 7296 §2.18): it holds no CHILD SAs and goes away
 * @param deleting          a Delete of this IKE SA is under way
 * @param predecessorSpiI   the initiator SPI of the IKE SA this one replaced while that one lives, else 0
 * @param predecessorSpiR   its responder SPI
 * @param establishedAtMillis when it was established, Unix epoch ms (0: not known)
 */
public record IkeSaSnapshot(String connection, boolean originalInitiator, long spiI, long spiR,
        InetSocketAddress remote, int localPort, boolean natHere, boolean natThere, Proposal proposal,
        IkeSaKeys keys, long nextRequestId, long expectedRequestId, boolean requestInFlight,
        int inFlightRekeyedChild, int inFlightNewChild, long lastResponseId,
        byte[] lastResponse, boolean peerMessageIdSync, boolean mobike, List<Child> children, boolean replaced, boolean deleting,
        long predecessorSpiI, long predecessorSpiR, long establishedAtMillis) {

    /** Copies the list. */
    public IkeSaSnapshot {
        children = List.copyOf(children);
    }

    /** Our SPI: the one the engine files the IKE SA under. */
    public long localSpi() {
        return originalInitiator ? spiI : spiR;
    }

    /**
     * One CHILD SA with what the IKE SA tracks for it.
     *
     * @param child          the pair (its keys are not needed to carry it on: the data plane has them)
     * @param replaced       a rekey replaced it; it waits for its Delete
     * @param rekeyAtMillis  when it is rekeyed, Unix epoch ms, 0: never
     * @param expireAtMillis when it is deleted (hard lifetime), Unix epoch ms, 0: never
     * @param madeAtMillis   when it was negotiated, Unix epoch ms, 0: not known
     */
    public record Child(ChildSa child, boolean replaced, long rekeyAtMillis, long expireAtMillis, long madeAtMillis) {
    }

    /** Never shows keys or message bytes. */
    @Override
    public String toString() {
        return "IkeSaSnapshot[" + connection + " " + ChildSa.hex(spiI, 16) + "_i " + ChildSa.hex(spiR, 16) + "_r"
                + " next " + nextRequestId + (requestInFlight ? " (in flight)" : "") + " expected " + expectedRequestId
                + ", " + children.size() + " children" + (replaced ? ", replaced" : "") + (deleting ? ", deleting" : "")
                + "]";
    }
}
