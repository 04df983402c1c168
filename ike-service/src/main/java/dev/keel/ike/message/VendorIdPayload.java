package dev.keel.ike.message;

/** Vendor ID payload (RFC 7296 §3.12): opaque bytes, usually a hash naming an implementation. */
public record VendorIdPayload(byte[] data) implements IkePayload {

    /** Parses a Vendor ID body; it must not be empty. */
    public static VendorIdPayload decode(byte[] body) throws PayloadException {
        if (body.length == 0) {
            throw new PayloadException("Vendor ID payload is empty");
        }
        return new VendorIdPayload(body.clone());
    }

    @Override
    public int type() {
        return PayloadType.VENDOR_ID.value();
    }

    @Override
    public byte[] encodeBody() {
        return data.clone();
    }
}
