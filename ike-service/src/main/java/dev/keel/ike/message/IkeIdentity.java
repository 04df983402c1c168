package dev.keel.ike.message;

import dev.keel.core.net.IpAddress;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;
import java.util.StringJoiner;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;

/**
 * An IKE identity (RFC 7296 §3.5) as configured and compared, with strongSwan's text forms:
 * {@code 192.0.2.1}, {@code 2001:db8::1}, {@code host.example} / {@code @host.example} /
 * {@code fqdn:host.example}, {@code user@example} / {@code email:user@example}, a DN such as
 * {@code C=CH, O=Keel, CN=gw1} (DER-encoded in the given RDN order), and {@code @#0a1b} /
 * {@code keyid:0a1b} for a key ID. Equality is per type: IP addresses and key IDs by bytes,
 * FQDN and RFC 822 names ignoring ASCII case, DNs by Bouncy Castle's normalized comparison.
 */
public final class IkeIdentity {
    private final int type;
    private final byte[] data;

    private IkeIdentity(int type, byte[] data) {
        this.type = type;
        this.data = data;
    }

    /** An identity of any ID type from its wire data. */
    public static IkeIdentity of(int type, byte[] data) {
        return new IkeIdentity(type, data.clone());
    }

    /** An ID_IPV4_ADDR or ID_IPV6_ADDR identity. */
    public static IkeIdentity of(IpAddress address) {
        return new IkeIdentity((address.isIpv4() ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR).value(),
                address.bytes());
    }

    /**
     * Parses strongSwan's identity syntax (see the class comment).
     *
     * @throws IllegalArgumentException quoting the text when it is empty or a DN does not parse
     */
    public static IkeIdentity parse(String text) {
        Objects.requireNonNull(text, "text");
        String s = text.strip();
        if (s.isEmpty()) {
            throw new IllegalArgumentException("empty identity");
        }
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.startsWith("fqdn:")) {
            return ascii(IdType.ID_FQDN, s.substring(5));
        }
        if (lower.startsWith("email:") || lower.startsWith("rfc822:")) {
            return ascii(IdType.ID_RFC822_ADDR, s.substring(s.indexOf(':') + 1));
        }
        if (lower.startsWith("keyid:")) {
            return keyId(s.substring(6), text);
        }
        if (lower.startsWith("asn1dn:")) {
            return dn(s.substring(7), text);
        }
        if (s.startsWith("@#")) {
            return keyId(s.substring(2), text);
        }
        if (s.startsWith("@")) {
            return ascii(IdType.ID_FQDN, s.substring(1));
        }
        if (s.contains("=")) {
            return dn(s, text);
        }
        if (s.contains("@")) {
            return ascii(IdType.ID_RFC822_ADDR, s);
        }
        if (s.indexOf(':') >= 0 || s.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'))) {
            try {
                return of(IpAddress.parse(s));
            } catch (IllegalArgumentException e) {
                // not an address: strongSwan then takes it as an FQDN
            }
        }
        return ascii(IdType.ID_FQDN, s);
    }

    private static IkeIdentity ascii(IdType type, String value) {
        if (value.isEmpty()) {
            throw new IllegalArgumentException("empty " + type + " identity");
        }
        return new IkeIdentity(type.value(), value.getBytes(StandardCharsets.UTF_8));
    }

    private static IkeIdentity keyId(String hex, String text) {
        try {
            byte[] bytes = HexFormat.of().parseHex(hex.replace(":", ""));
            if (bytes.length == 0) {
                throw new IllegalArgumentException("empty key ID");
            }
            return new IkeIdentity(IdType.ID_KEY_ID.value(), bytes);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid key ID identity \"" + text + "\": " + e.getMessage());
        }
    }

    private static IkeIdentity dn(String dn, String text) {
        try {
            return new IkeIdentity(IdType.ID_DER_ASN1_DN.value(), new X500Name(BCStyle.INSTANCE, dn).getEncoded());
        } catch (IllegalArgumentException | IOException e) {
            throw new IllegalArgumentException("invalid DN identity \"" + text + "\": " + e.getMessage());
        }
    }

    /** The ID type number. */
    public int type() {
        return type;
    }

    /** The ID type, or null when unknown. */
    public IdType idType() {
        return IdType.of(type);
    }

    /** The identification data as sent in an ID payload. */
    public byte[] data() {
        return data.clone();
    }

    /** The DN, or null when this is not a parseable ID_DER_ASN1_DN. */
    private X500Name x500() {
        if (type != IdType.ID_DER_ASN1_DN.value()) {
            return null;
        }
        try {
            return X500Name.getInstance(data);
        } catch (RuntimeException e) {
            return null;
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof IkeIdentity other) || other.type != type) {
            return false;
        }
        if (type == IdType.ID_FQDN.value() || type == IdType.ID_RFC822_ADDR.value()) {
            return new String(data, StandardCharsets.UTF_8).equalsIgnoreCase(new String(other.data, StandardCharsets.UTF_8));
        }
        X500Name mine = x500();
        X500Name theirs = other.x500();
        if (mine != null && theirs != null) {
            return mine.equals(theirs);
        }
        return Arrays.equals(data, other.data);
    }

    @Override
    public int hashCode() {
        if (type == IdType.ID_FQDN.value() || type == IdType.ID_RFC822_ADDR.value()) {
            return new String(data, StandardCharsets.UTF_8).toLowerCase(Locale.ROOT).hashCode() * 31 + type;
        }
        X500Name dn = x500();
        return (dn != null ? dn.hashCode() : Arrays.hashCode(data)) * 31 + type;
    }

    /** strongSwan's text form, which {@link #parse} reads back to an equal identity. */
    @Override
    public String toString() {
        IdType t = idType();
        if (t == null) {
            return "id-" + type + ":" + HexFormat.of().formatHex(data);
        }
        return switch (t) {
            case ID_IPV4_ADDR, ID_IPV6_ADDR -> data.length == (t == IdType.ID_IPV4_ADDR ? 4 : 16)
                    ? IpAddress.fromBytes(data).toString() : "@#" + HexFormat.of().formatHex(data);
            case ID_FQDN, ID_RFC822_ADDR -> new String(data, StandardCharsets.UTF_8);
            case ID_DER_ASN1_DN -> {
                X500Name dn = x500();
                yield dn != null ? printDn(dn) : "@#" + HexFormat.of().formatHex(data);
            }
            default -> "@#" + HexFormat.of().formatHex(data);
        };
    }

    private static String printDn(X500Name dn) {
        StringJoiner out = new StringJoiner(", ");
        for (RDN rdn : dn.getRDNs()) {
            out.add(new X500Name(BCStyle.INSTANCE, new RDN[] {rdn}).toString());
        }
        return out.toString();
    }
}
