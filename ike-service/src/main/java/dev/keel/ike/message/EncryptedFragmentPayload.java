package dev.keel.ike.message;

/**
 * Encrypted Fragment payload, SKF (RFC 7383 §2.5): fragment number and total, then the sealed
 * body. The first inner payload type is non-zero only in fragment 1. Not reassembled here.
 */
public record EncryptedFragmentPayload(int firstInnerPayload, int fragmentNumber, int totalFragments, byte[] body)
        implements IkePayload {

    /** Parses an SKF body: fragment number (2), total fragments (2), sealed body. */
    public static EncryptedFragmentPayload decode(int firstInnerPayload, byte[] body) throws PayloadException {
        WireReader r = new WireReader(body);
        int number = r.u16("SKF fragment number");
        int total = r.u16("SKF total fragments");
        // RFC 7383 §2.6: number 1..total, and total > 0.
        if (number == 0 || total == 0 || number > total) {
            throw new PayloadException("SKF fragment " + number + " of " + total);
        }
        if (number != 1 && firstInnerPayload != 0) {
            throw new PayloadException("SKF fragment " + number + " names a first inner payload");
        }
        return new EncryptedFragmentPayload(firstInnerPayload, number, total, r.rest());
    }

    @Override
    public int type() {
        return PayloadType.SKF.value();
    }

    @Override
    public byte[] encodeBody() {
        return new WireWriter().u16(fragmentNumber).u16(totalFragments).bytes(body).toByteArray();
    }
}
