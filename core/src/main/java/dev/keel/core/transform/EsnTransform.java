package dev.keel.core.transform;

/** Extended Sequence Numbers (transform type 5, RFC 4303 §2.2.1). */
public enum EsnTransform implements Transform {
    NO_ESN(0, "NO_ESN"),
    ESN(1, "ESN");

    private final int id;
    private final String ianaName;

    EsnTransform(int id, String ianaName) {
        this.id = id;
        this.ianaName = ianaName;
    }

    @Override
    public TransformType type() {
        return TransformType.ESN;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String ianaName() {
        return ianaName;
    }

    /** The transform with this IANA number, or null. */
    public static EsnTransform byId(int id) {
        return Transform.byId(values(), id);
    }
}
