package dev.keel.ike.message;

import java.util.Optional;

/**
 * The fixed 28-byte IKE header (RFC 7296 §3.1). Numbers are kept as on the wire, so a header with
 * an unknown exchange type or version still says what arrived; {@link #messageId()} and
 * {@link #length()} are unsigned 32-bit values.
 *
 * @param initiatorSpi  IKE SA Initiator's SPI
 * @param responderSpi  IKE SA Responder's SPI, 0 in a first IKE_SA_INIT request
 * @param nextPayload   type of the first payload
 * @param majorVersion  2 for IKEv2
 * @param minorVersion  0 for RFC 7296
 * @param exchangeType  34-37 for the RFC 7296 exchanges, see {@link #exchange()}
 * @param flags         the flags octet: {@link #FLAG_INITIATOR}, {@link #FLAG_VERSION}, {@link #FLAG_RESPONSE}
 * @param messageId     unsigned 32-bit Message ID
 * @param length        unsigned 32-bit total message length
 */
public record IkeHeader(long initiatorSpi, long responderSpi, int nextPayload, int majorVersion,
        int minorVersion, int exchangeType, int flags, long messageId, long length) {

    /** Header length in bytes. */
    public static final int LENGTH = 28;
    /** Set by the original initiator of the IKE SA. */
    public static final int FLAG_INITIATOR = 0x08;
    /** "I can speak a higher major version"; never set by Keel. */
    public static final int FLAG_VERSION = 0x10;
    /** Set in responses. */
    public static final int FLAG_RESPONSE = 0x20;

    /** A header to encode: version 2.0; next payload and length are filled in by the encoder. */
    public static IkeHeader of(long initiatorSpi, long responderSpi, ExchangeType exchange,
            boolean initiator, boolean response, long messageId) {
        int flags = (initiator ? FLAG_INITIATOR : 0) | (response ? FLAG_RESPONSE : 0);
        return new IkeHeader(initiatorSpi, responderSpi, 0, 2, 0, exchange.value(), flags,
                messageId & 0xFFFFFFFFL, 0);
    }

    /**
     * Reads the header of a received datagram without judging the rest, for the SA lookup by
     * SPI that comes before keys are known; empty when fewer than 28 bytes arrived.
     */
    public static Optional<IkeHeader> peek(byte[] datagram) {
        if (datagram == null || datagram.length < LENGTH) {
            return Optional.empty();
        }
        try {
            WireReader r = new WireReader(datagram, 0, LENGTH);
            long spiI = r.u64("SPIi");
            long spiR = r.u64("SPIr");
            int next = r.u8("next payload");
            int version = r.u8("version");
            int exchange = r.u8("exchange type");
            int flags = r.u8("flags");
            long mid = r.u32("message ID");
            long length = r.u32("length");
            return Optional.of(new IkeHeader(spiI, spiR, next, version >>> 4, version & 0x0F,
                    exchange, flags, mid, length));
        } catch (PayloadException e) {
            throw new AssertionError("28 bytes were checked", e);
        }
    }

    /** The exchange type, or null for a number RFC 7296 does not define. */
    public ExchangeType exchange() {
        return ExchangeType.of(exchangeType);
    }

    /** Whether the sender is the original initiator of the IKE SA. */
    public boolean isInitiator() {
        return (flags & FLAG_INITIATOR) != 0;
    }

    /** Whether this message is a response. */
    public boolean isResponse() {
        return (flags & FLAG_RESPONSE) != 0;
    }

    /** This header with another next payload and length, as the encoder writes it. */
    public IkeHeader withLayout(int newNextPayload, long newLength) {
        return new IkeHeader(initiatorSpi, responderSpi, newNextPayload, majorVersion, minorVersion,
                exchangeType, flags, messageId, newLength);
    }

    void encode(WireWriter w) {
        w.u64(initiatorSpi).u64(responderSpi).u8(nextPayload).u8(majorVersion << 4 | minorVersion)
                .u8(exchangeType).u8(flags).u32(messageId).u32(length);
    }

    @Override
    public String toString() {
        ExchangeType e = exchange();
        return String.format("%s %s mid=%d spi=%016x_%016x", e != null ? e : "exchange-" + exchangeType,
                isResponse() ? "response" : "request", messageId, initiatorSpi, responderSpi);
    }
}
