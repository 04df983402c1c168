package dev.keel.ike.message;

/** Certificate payload (RFC 7296 §3.6): encoding and certificate data (DER for X.509). */
public record CertPayload(int encoding, byte[] data) implements IkePayload {

    /** Parses a CERT body: encoding (1), data. */
    public static CertPayload decode(byte[] body) throws PayloadException {
        WireReader r = new WireReader(body);
        int encoding = r.u8("CERT encoding");
        if (!r.hasRemaining()) {
            throw new PayloadException("CERT payload has no certificate data");
        }
        return new CertPayload(encoding, r.rest());
    }

    @Override
    public int type() {
        return PayloadType.CERT.value();
    }

    @Override
    public byte[] encodeBody() {
        return new WireWriter().u8(encoding).bytes(data).toByteArray();
    }
}
