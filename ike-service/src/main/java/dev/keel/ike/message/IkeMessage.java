package dev.keel.ike.message;

import dev.keel.ike.crypto.SkCipher;
import dev.keel.ike.message.IkeDecodeResult.Reason;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * An IKEv2 message: header, payloads, and the exact bytes sent or received (the AUTH payload
 * signs RealMessage1 as it went over the wire, RFC 7296 §2.15). For a protected message the
 * payloads are the inner payloads of the SK payload.
 */
public record IkeMessage(IkeHeader header, List<IkePayload> payloads, byte[] bytes, boolean isProtected,
        byte[] intermediatePlaintext) {
    private static final int SK = PayloadType.SK.value();
    private static final int SKF = PayloadType.SKF.value();
    private static final int GENERIC_HEADER = 4;

    /** Copies the payload list. */
    public IkeMessage {
        payloads = List.copyOf(payloads);
    }

    /** A message without kept plaintext (all but a received IKE_INTERMEDIATE). */
    public IkeMessage(IkeHeader header, List<IkePayload> payloads, byte[] bytes, boolean isProtected) {
        this(header, payloads, bytes, isProtected, null);
    }

    /**
     * For a received IKE_INTERMEDIATE message, its inner payloads as decrypted (reassembled from
     * fragments where it came in fragments): what RFC 9242 §3.3.2 has IntAuth_*P cover. Null
     * otherwise. A copy.
     */
    @Override
    public byte[] intermediatePlaintext() {
        return intermediatePlaintext == null ? null : intermediatePlaintext.clone();
    }

    /** A copy of the message exactly as encoded or received. */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** The payloads of one kind, in order. */
    public <T extends IkePayload> List<T> payloads(Class<T> kind) {
        List<T> out = new ArrayList<>();
        for (IkePayload p : payloads) {
            if (kind.isInstance(p)) {
                out.add(kind.cast(p));
            }
        }
        return out;
    }

    /** The first payload of one kind. */
    public <T extends IkePayload> Optional<T> first(Class<T> kind) {
        for (IkePayload p : payloads) { // asked several times per message: no list, no stream
            if (kind.isInstance(p)) {
                return Optional.of(kind.cast(p));
            }
        }
        return Optional.empty();
    }

    /** The first notify of this type. */
    public Optional<NotifyPayload> notify(NotifyType type) {
        for (IkePayload p : payloads) {
            if (p instanceof NotifyPayload n && n.notifyTypeValue() == type.value()) {
                return Optional.of(n);
            }
        }
        return Optional.empty();
    }

    // ---------------------------------------------------------------- encoding

    /** Encodes an unprotected message (IKE_SA_INIT); next payload and length of {@code header} are filled in. */
    public static IkeMessage encode(IkeHeader header, List<IkePayload> payloads) {
        byte[] chain = encodeChain(payloads);
        IkeHeader h = header.withLayout(firstType(payloads), IkeHeader.LENGTH + chain.length);
        WireWriter w = new WireWriter();
        h.encode(w);
        w.bytes(chain);
        return new IkeMessage(h, payloads, w.toByteArray(), false);
    }

    /**
     * Encodes a protected message: the IKE header and SK generic header with lengths from
     * {@link SkCipher#sealedLength}, then {@link SkCipher#seal} fills in the SK body.
     */
    public static IkeMessage encodeProtected(IkeHeader header, List<IkePayload> payloads, SkCipher cipher) {
        byte[] plaintext = encodeChain(payloads);
        try {
            int skLength = GENERIC_HEADER + cipher.sealedLength(plaintext.length);
            IkeHeader h = header.withLayout(SK, IkeHeader.LENGTH + skLength);
            WireWriter w = new WireWriter();
            h.encode(w);
            int at = w.size();
            w.u8(firstType(payloads)).u8(0).u16(0);
            w.patchU16(at + 2, skLength);
            byte[] message = Arrays.copyOf(w.toByteArray(), IkeHeader.LENGTH + skLength);
            cipher.seal(message, IkeHeader.LENGTH + GENERIC_HEADER, plaintext);
            return new IkeMessage(h, payloads, message, true);
        } finally {
            Arrays.fill(plaintext, (byte) 0);
        }
    }

    /**
     * Splits the inner payloads of a protected message into SKF fragments (RFC 7383 §2.5), each
     * its own datagram of at most {@code maxLength} bytes, sealed on its own under {@code cipher}:
     * the header of {@code header} with Next Payload SKF, fragment numbers 1..N, the first inner
     * payload type in fragment 1 only.
     *
     * @throws IllegalArgumentException when {@code maxLength} leaves no room for one byte of
     *                                  payload, or more than 65535 fragments would be needed
     */
    public static List<byte[]> encodeFragments(IkeHeader header, int firstInnerPayload, byte[] plaintext,
            SkCipher cipher, int maxLength) {
        int overhead = IkeHeader.LENGTH + GENERIC_HEADER + 4; // IKE header, SKF header, fragment number and total
        int chunk = maxLength - overhead;
        while (chunk > 0 && overhead + cipher.sealedLength(chunk) > maxLength) {
            chunk--; // at most IV + ICV + a block of padding steps
        }
        if (chunk <= 0) {
            throw new IllegalArgumentException("fragments of " + maxLength + " bytes hold no payload");
        }
        int total = Math.max(1, (plaintext.length + chunk - 1) / chunk);
        if (total > 0xFFFF) {
            throw new IllegalArgumentException(total + " fragments exceed the 16-bit Total Fragments field");
        }
        List<byte[]> out = new ArrayList<>(total);
        for (int n = 1; n <= total; n++) {
            int from = (n - 1) * chunk;
            byte[] part = Arrays.copyOfRange(plaintext, from, Math.min(plaintext.length, from + chunk));
            try {
                int skfLength = GENERIC_HEADER + 4 + cipher.sealedLength(part.length);
                WireWriter w = new WireWriter();
                header.withLayout(SKF, IkeHeader.LENGTH + skfLength).encode(w);
                w.u8(n == 1 ? firstInnerPayload : 0).u8(0).u16(skfLength).u16(n).u16(total);
                byte[] fragment = Arrays.copyOf(w.toByteArray(), IkeHeader.LENGTH + skfLength);
                // §2.5: the associated data / ICV cover the IKE header, the SKF header and the two numbers
                cipher.seal(fragment, overhead, part);
                out.add(fragment);
            } finally {
                Arrays.fill(part, (byte) 0);
            }
        }
        return out;
    }

    /**
     * The octets RFC 9242 §3.3.2 has IntAuth cover for one IKE_INTERMEDIATE message, A | P: its
     * IKE header and Encrypted payload header with their lengths as if there were no IV, padding
     * and ICV (and no fragmentation), then its inner payloads in plaintext.
     *
     * @param header     the message's header (message ID, flags, SPIs; next payload and length are replaced)
     * @param plaintext  the inner payloads, as sent or as decrypted
     */
    public static byte[] intermediateAuthData(IkeHeader header, int firstInner, byte[] plaintext) {
        WireWriter w = new WireWriter();
        header.withLayout(SK, IkeHeader.LENGTH + GENERIC_HEADER + plaintext.length).encode(w);
        w.u8(firstInner).u8(0).u16(GENERIC_HEADER + plaintext.length).bytes(plaintext);
        return w.toByteArray();
    }

    /** {@link #intermediateAuthData(IkeHeader, int, byte[])} of a message we send with {@code payloads}. */
    public static byte[] intermediateAuthData(IkeHeader header, List<IkePayload> payloads) {
        return intermediateAuthData(header, firstType(payloads), encodeChain(payloads));
    }

    private static int firstType(List<IkePayload> payloads) {
        return payloads.isEmpty() ? 0 : payloads.getFirst().type();
    }

    /** Payloads chained by generic payload headers (§3.2). */
    static byte[] encodeChain(List<IkePayload> payloads) {
        WireWriter w = new WireWriter();
        for (int i = 0; i < payloads.size(); i++) {
            IkePayload p = payloads.get(i);
            byte[] body = p.encodeBody();
            // §3.14, RFC 7383 §2.5: the Next Payload of SK / SKF names the first inner payload.
            int next = switch (p) {
                case EncryptedPayload sk -> sk.firstInnerPayload();
                case EncryptedFragmentPayload skf -> skf.firstInnerPayload();
                default -> i + 1 < payloads.size() ? payloads.get(i + 1).type() : 0;
            };
            int at = w.size();
            w.u8(next).u8(p.critical() ? 0x80 : 0).u16(0).bytes(body);
            w.patchU16(at + 2, GENERIC_HEADER + body.length);
        }
        return w.toByteArray();
    }

    // ---------------------------------------------------------------- decoding

    /**
     * Decodes a received datagram; never throws on hostile input. {@code cipher} opens the SK
     * payload and may be null before keys exist (an SK payload then yields {@code NO_CIPHER}).
     */
    public static IkeDecodeResult decode(byte[] datagram, SkCipher cipher) {
        Optional<IkeHeader> peeked = IkeHeader.peek(datagram);
        if (peeked.isEmpty()) {
            return drop(Reason.TRUNCATED, null, (datagram == null ? 0 : datagram.length) + " bytes, no IKE header");
        }
        IkeHeader h = peeked.get();
        if (h.majorVersion() > 2) {
            return new IkeDecodeResult.UnprotectedError(Reason.UNSUPPORTED_MAJOR_VERSION, h,
                    NotifyType.INVALID_MAJOR_VERSION, new byte[] {0x20}, "major version " + h.majorVersion());
        }
        if (h.majorVersion() < 2) {
            return drop(Reason.BAD_VERSION, h, "major version " + h.majorVersion());
        }
        if (h.exchange() == null) {
            // nothing here could process it, and as a request it would take a message ID: drop it before anything else
            return drop(Reason.UNKNOWN_EXCHANGE, h, "exchange type " + h.exchangeType());
        }
        if (h.length() != datagram.length) {
            return drop(h.length() > datagram.length ? Reason.TRUNCATED : Reason.BAD_LENGTH, h,
                    "header length " + h.length() + " but " + datagram.length + " bytes arrived");
        }
        Chain outer;
        try {
            outer = readChain(datagram, IkeHeader.LENGTH, datagram.length, h.nextPayload(), true);
        } catch (ChainError e) {
            return switch (e.kind) {
                case LENGTH -> drop(Reason.BAD_LENGTH, h, e.getMessage());
                case ORDER -> drop(Reason.BAD_PAYLOAD_ORDER, h, e.getMessage());
                case MALFORMED -> new IkeDecodeResult.UnprotectedError(Reason.MALFORMED_PAYLOAD, h,
                        NotifyType.INVALID_SYNTAX, new byte[0], e.getMessage());
                case CRITICAL -> new IkeDecodeResult.UnprotectedError(Reason.UNSUPPORTED_CRITICAL_PAYLOAD, h,
                        NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, new byte[] {(byte) e.payloadType}, e.getMessage());
            };
        }
        if (outer.skOffset < 0) {
            if (h.exchange() != ExchangeType.IKE_SA_INIT) {
                return drop(Reason.NOT_ENCRYPTED, h, h.exchange() + " without an SK payload");
            }
            return new IkeDecodeResult.Ok(new IkeMessage(h, outer.payloads, datagram.clone(), false));
        }
        if (!outer.payloads.isEmpty()) {
            return drop(Reason.NOT_ENCRYPTED, h, outer.payloads.size() + " payloads in clear before the SK payload");
        }
        int bodyOffset = outer.skOffset + GENERIC_HEADER;
        if (outer.skType == SKF) {
            try {
                EncryptedFragmentPayload f = EncryptedFragmentPayload.decode(outer.skNext,
                        Arrays.copyOfRange(datagram, bodyOffset, datagram.length));
                return new IkeDecodeResult.Fragment(h, f, datagram.clone(), bodyOffset + 4);
            } catch (PayloadException e) {
                return new IkeDecodeResult.UnprotectedError(Reason.MALFORMED_PAYLOAD, h, null, new byte[0],
                        e.getMessage());
            }
        }
        if (cipher == null) {
            return drop(Reason.NO_CIPHER, h, "SK payload but no keys");
        }
        byte[] plaintext = cipher.open(datagram, bodyOffset);
        if (plaintext == null) {
            return drop(Reason.ICV_FAILED, h, "SK payload did not verify");
        }
        try {
            return decodeInner(h, outer.skNext, plaintext, datagram.clone());
        } finally {
            Arrays.fill(plaintext, (byte) 0);
        }
    }

    /**
     * The message whose verified inner payloads are {@code plaintext}, the first of type
     * {@code firstInner}: an SK payload opened, or SKF fragments reassembled (RFC 7383 §2.6).
     * {@code bytes} is what arrived (for a reassembled message, the fragment that completed it).
     */
    public static IkeDecodeResult decodeInner(IkeHeader h, int firstInner, byte[] plaintext, byte[] bytes) {
        try {
            Chain inner = readChain(plaintext, 0, plaintext.length, firstInner, false);
            // RFC 9242 §3.3.2: the AUTH payload covers IKE_INTERMEDIATE messages' inner payloads
            byte[] kept = h.exchange() == ExchangeType.IKE_INTERMEDIATE ? plaintext.clone() : null;
            return new IkeDecodeResult.Ok(new IkeMessage(h, inner.payloads, bytes, true, kept));
        } catch (ChainError e) {
            boolean critical = e.kind == ChainError.Kind.CRITICAL;
            return new IkeDecodeResult.ProtectedError(h,
                    critical ? NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD : NotifyType.INVALID_SYNTAX,
                    critical ? new byte[] {(byte) e.payloadType} : new byte[0], e.getMessage());
        }
    }

    private static IkeDecodeResult drop(Reason reason, IkeHeader header, String detail) {
        return new IkeDecodeResult.UnprotectedError(reason, header, null, new byte[0], detail);
    }

    /** Payloads read from a chain; {@code skOffset} is where an SK/SKF payload starts, or -1. */
    private record Chain(List<IkePayload> payloads, int skOffset, int skType, int skNext) {}

    private static final class ChainError extends Exception {
        private static final long serialVersionUID = 1L;

        enum Kind { LENGTH, MALFORMED, CRITICAL, ORDER }

        final Kind kind;
        final int payloadType;

        ChainError(Kind kind, int payloadType, String message) {
            super(message, null, false, false);
            this.kind = kind;
            this.payloadType = payloadType;
        }
    }

    /** Walks generic payload headers from {@code off} to exactly {@code end}, never trusting a length. */
    private static Chain readChain(byte[] buf, int off, int end, int first, boolean outer) throws ChainError {
        List<IkePayload> payloads = new ArrayList<>();
        int next = first;
        int pos = off;
        while (next != 0) {
            int type = next;
            String what = "payload " + (payloads.size() + 1) + " (type " + type + ")";
            if (end - pos < GENERIC_HEADER) {
                throw new ChainError(ChainError.Kind.LENGTH, type, what + " header needs 4 bytes, " + (end - pos) + " left");
            }
            next = buf[pos] & 0xFF;
            boolean critical = (buf[pos + 1] & 0x80) != 0;
            int length = (buf[pos + 2] & 0xFF) << 8 | buf[pos + 3] & 0xFF;
            if (length < GENERIC_HEADER || length > end - pos) {
                throw new ChainError(ChainError.Kind.LENGTH, type, what + " length " + length + " with " + (end - pos) + " left");
            }
            if (type == SK || type == SKF) {
                if (!outer) {
                    throw new ChainError(ChainError.Kind.MALFORMED, type, what + " inside an SK payload");
                }
                if (pos + length != end) {
                    // RFC 7296 §3.14: SK is the last payload; its Next Payload names the first inner one.
                    throw new ChainError(ChainError.Kind.ORDER, type, what + " is followed by " + (end - pos - length) + " bytes");
                }
                return new Chain(payloads, pos, type, next);
            }
            byte[] body = Arrays.copyOfRange(buf, pos + GENERIC_HEADER, pos + length);
            IkePayload payload;
            try {
                payload = decodeBody(type, critical, body);
            } catch (PayloadException e) {
                throw new ChainError(ChainError.Kind.MALFORMED, type, what + ": " + e.getMessage());
            }
            if (payload instanceof UnknownPayload && critical) {
                throw new ChainError(ChainError.Kind.CRITICAL, type, what + " is unknown and critical");
            }
            payloads.add(payload);
            pos += length;
        }
        if (pos != end) {
            throw new ChainError(ChainError.Kind.LENGTH, 0, (end - pos) + " bytes after the last payload");
        }
        return new Chain(payloads, -1, 0, 0);
    }

    /** Decodes one payload body by type; unknown types become {@link UnknownPayload}. */
    static IkePayload decodeBody(int type, boolean critical, byte[] body) throws PayloadException {
        PayloadType known = PayloadType.of(type);
        if (known == null) {
            return new UnknownPayload(type, critical, body);
        }
        return switch (known) {
            case SA -> SaPayload.decode(body);
            case KE -> KePayload.decode(body);
            case IDI -> IdPayload.decode(true, body);
            case IDR -> IdPayload.decode(false, body);
            case CERT -> CertPayload.decode(body);
            case CERTREQ -> CertReqPayload.decode(body);
            case AUTH -> AuthPayload.decode(body);
            case NONCE -> NoncePayload.decode(body);
            case NOTIFY -> NotifyPayload.decode(body);
            case DELETE -> DeletePayload.decode(body);
            case VENDOR_ID -> VendorIdPayload.decode(body);
            case TSI -> TsPayload.decode(true, body);
            case TSR -> TsPayload.decode(false, body);
            case CP -> ConfigPayload.decode(body);
            case EAP -> EapPayload.decode(body);
            case NO_NEXT_PAYLOAD, SK, SKF -> throw new PayloadException("payload type " + known + " in a payload chain");
            // Group key management payloads (RFC 9838 and kin) are not parsed; kept like unknown ones.
            case GSPM, IDG, GSA, KD, PS -> new UnknownPayload(type, false, body);
        };
    }
}
