package dev.keel.ike.message;

import dev.keel.core.proposal.Proposal;

/**
 * A domain proposal with the SPI it travels with in an SA payload (RFC 7296 §3.3.1): size 0 in
 * IKE_SA_INIT, 8 when rekeying the IKE SA, 4 for AH and ESP.
 *
 * @param proposal the proposal; its number is the Proposal Num on the wire (0 = number by position)
 * @param spi      the SPI as an unsigned value of {@code spiSize} bytes
 * @param spiSize  0, 4 or 8
 */
public record ProposalWithSpi(Proposal proposal, long spi, int spiSize) {

    /** Checks the SPI size. */
    public ProposalWithSpi {
        if (spiSize != 0 && spiSize != 4 && spiSize != 8) {
            throw new IllegalArgumentException("SPI size " + spiSize + " is not 0, 4 or 8");
        }
    }

    /** A proposal without SPI, as in IKE_SA_INIT. */
    public static ProposalWithSpi withoutSpi(Proposal proposal) {
        return new ProposalWithSpi(proposal, 0, 0);
    }

    /** An AH or ESP proposal with its 4-byte SPI. */
    public static ProposalWithSpi withChildSpi(Proposal proposal, int spi) {
        return new ProposalWithSpi(proposal, spi & 0xFFFFFFFFL, 4);
    }
}
