package dev.keel.ike.session;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.ike.crypto.ChildSaKeys;
import dev.keel.ike.crypto.IkeSuite;
import java.util.List;

/**
 * A negotiated ESP CHILD_SA pair: our inbound SPI (which the peer sends to), the peer's
 * inbound SPI (which we send to), the chosen proposal, the narrowed selectors and the keys.
 *
 * @param name        the child configuration's name
 * @param initiator   true when this side proposed it (so it sends with the initiator's keys)
 * @param inboundSpi  the SPI we allocated
 * @param outboundSpi the SPI the peer allocated
 * @param proposal    the selected ESP proposal
 * @param mode        tunnel or transport (RFC 7296 §1.3.1 USE_TRANSPORT_MODE)
 * @param localTs     our side's selectors after narrowing
 * @param remoteTs    the peer's side's selectors after narrowing
 * @param encap       ESP runs in UDP (RFC 3948) because a NAT was detected or encapsulation forced
 * @param keys        initiator and responder keys (RFC 7296 §2.17)
 */
public record ChildSa(String name, boolean initiator, int inboundSpi, int outboundSpi, Proposal proposal,
        IpsecMode mode, List<TrafficSelector> localTs, List<TrafficSelector> remoteTs, boolean encap,
        ChildSaKeys keys) {

    /** Copies the lists. */
    public ChildSa {
        localTs = List.copyOf(localTs);
        remoteTs = List.copyOf(remoteTs);
    }

    /** The negotiated cipher and integrity transform (NONE with a combined-mode cipher). */
    public IkeSuite suite() {
        return IkeSuite.from(proposal);
    }

    /** Whether 64-bit extended sequence numbers were negotiated (RFC 4303 §2.2.1). */
    public boolean esn() {
        return !proposal.esns().isEmpty() && proposal.esns().getFirst() == EsnTransform.ESN;
    }

    /** This CHILD SA without keys ({@link ChildSaKeys#none()}), as another node carries it on. */
    public ChildSa withoutKeys() {
        return new ChildSa(name, initiator, inboundSpi, outboundSpi, proposal, mode, localTs, remoteTs, encap,
                ChildSaKeys.none());
    }

    /** Key this side encrypts outbound packets with (includes the salt for AEAD suites). */
    public byte[] outboundEncryptionKey() {
        return initiator ? keys.encryptionInitiator() : keys.encryptionResponder();
    }

    /** Integrity key for outbound packets; empty for AEAD suites. */
    public byte[] outboundIntegrityKey() {
        return initiator ? keys.integrityInitiator() : keys.integrityResponder();
    }

    /** Key inbound packets are decrypted with. */
    public byte[] inboundEncryptionKey() {
        return initiator ? keys.encryptionResponder() : keys.encryptionInitiator();
    }

    /** Integrity key for inbound packets; empty for AEAD suites. */
    public byte[] inboundIntegrityKey() {
        return initiator ? keys.integrityResponder() : keys.integrityInitiator();
    }

    @Override
    public String toString() {
        return "ChildSa[" + name + " " + hex(inboundSpi & 0xffff_ffffL, 8) + "_i " + hex(outboundSpi & 0xffff_ffffL, 8)
                + "_o " + proposal + " " + mode + " " + localTs + " === " + remoteTs + "]";
    }

    /** {@code value} in lower-case hex, zero-padded to {@code digits} (String.format's %0Nx without its cost). */
    static String hex(long value, int digits) {
        String h = Long.toHexString(value);
        return h.length() >= digits ? h : "0".repeat(digits - h.length()) + h;
    }
}
