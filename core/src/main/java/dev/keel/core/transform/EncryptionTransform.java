package dev.keel.core.transform;

/**
 * Encryption algorithms (transform type 1) that Keel implements, with the sizes an SA needs.
 *
 * <p>Key lengths are in bytes and exclude the salt; {@link #saltLength()} bytes of salt follow
 * the cipher key in the keying material (RFC 4106 §8.1, RFC 7634 §2, RFC 5282 §7).
 */
public enum EncryptionTransform implements Transform {
    /** RFC 2410: no confidentiality; for tests only, always with an integrity transform. */
    NULL(11, "ENCR_NULL", Mode.NORMAL, new int[] {0}, 0, 0, 4, 0),
    /** RFC 3602. The IV is random per packet, one AES block. */
    AES_CBC(12, "ENCR_AES_CBC", Mode.NORMAL, new int[] {16, 24, 32}, 16, 0, 16, 0),
    /** RFC 4106 with an 8-octet ICV. */
    AES_GCM_8(18, "ENCR_AES_GCM_8", Mode.COMBINED, new int[] {16, 24, 32}, 8, 4, 4, 8),
    /** RFC 4106 with a 12-octet ICV. */
    AES_GCM_12(19, "ENCR_AES_GCM_12", Mode.COMBINED, new int[] {16, 24, 32}, 8, 4, 4, 12),
    /** RFC 4106 with a 16-octet ICV. */
    AES_GCM_16(20, "ENCR_AES_GCM_16", Mode.COMBINED, new int[] {16, 24, 32}, 8, 4, 4, 16),
    /** RFC 7634; fixed 256-bit key, so no Key Length attribute is sent. */
    CHACHA20_POLY1305(28, "ENCR_CHACHA20_POLY1305", Mode.COMBINED, new int[] {32}, 8, 4, 4, 16);

    /** Normal mode needs a separate integrity transform; combined mode (AEAD) carries its own ICV. */
    public enum Mode {
        NORMAL,
        COMBINED
    }

    private final int id;
    private final String ianaName;
    private final Mode mode;
    private final int[] keyLengths;
    private final int ivLength;
    private final int saltLength;
    private final int blockSize;
    private final int icvLength;

    EncryptionTransform(int id, String ianaName, Mode mode, int[] keyLengths, int ivLength,
            int saltLength, int blockSize, int icvLength) {
        this.id = id;
        this.ianaName = ianaName;
        this.mode = mode;
        this.keyLengths = keyLengths;
        this.ivLength = ivLength;
        this.saltLength = saltLength;
        this.blockSize = blockSize;
        this.icvLength = icvLength;
    }

    @Override
    public TransformType type() {
        return TransformType.ENCR;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String ianaName() {
        return ianaName;
    }

    public Mode mode() {
        return mode;
    }

    public boolean isAead() {
        return mode == Mode.COMBINED;
    }

    /** Whether the transform takes a Key Length attribute (RFC 7296 §3.3.5). */
    public boolean hasVariableKeyLength() {
        return keyLengths.length > 1;
    }

    /** True when {@code bytes} is a cipher key length this algorithm accepts. */
    public boolean acceptsKeyLength(int bytes) {
        for (int k : keyLengths) {
            if (k == bytes) {
                return true;
            }
        }
        return false;
    }

    /** The one key length of a fixed-key algorithm, or the default (smallest) of a variable one. */
    public int defaultKeyLength() {
        return keyLengths[0];
    }

    /** Bytes of IV carried in each packet. */
    public int ivLength() {
        return ivLength;
    }

    /** Bytes of salt taken from the keying material after the key (0 for non-AEAD). */
    public int saltLength() {
        return saltLength;
    }

    /** The alignment the padded plaintext must reach: the cipher block, or 4 (RFC 4303 §2.4). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes of ICV appended by a combined-mode algorithm (0 in normal mode). */
    public int icvLength() {
        return icvLength;
    }

    /** The transform with this IANA number, or null. */
    public static EncryptionTransform byId(int id) {
        return Transform.byId(values(), id);
    }
}
