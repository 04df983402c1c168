package dev.keel.esp.wire;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The printed forms of a secret a careless log call, exception message or API answer would show
 * (key hygiene tests: no key, nonce or PSK in any text a node writes): hex (any case; plain, with
 * colons, with spaces as strongSwan dumps it), Base64 (standard and URL-safe, from each of the
 * three byte alignments, so also inside a longer encoded buffer, padded or not), Java's
 * {@code Arrays.toString}, and the text itself when it is printable (a PSK). Each form covers the
 * first {@value #HEAD} bytes only: a truncated print still matches, and a match is no accident.
 */
public final class SecretForms {

    /** Bytes of a secret a form covers (its head): 2^-96 odds for a chance match. */
    public static final int HEAD = 12;

    private SecretForms() {
    }

    /** The forms of {@code secret}, lower-case (search lower-cased text). */
    public static List<String> of(byte[] secret) {
        byte[] head = Arrays.copyOf(secret, Math.min(HEAD, secret.length));
        Set<String> forms = new LinkedHashSet<>(List.of(HexFormat.of().formatHex(head),
                HexFormat.ofDelimiter(":").formatHex(head), HexFormat.ofDelimiter(" ").formatHex(head),
                Arrays.toString(head).replace("]", "")));
        // Base64 works in 3-byte groups: inside a longer buffer the secret starts at one of three
        // alignments, and skipping 0, 1 or 2 of its bytes puts the rest on a group boundary
        for (int skip = 0; skip < 3; skip++) {
            if (secret.length - skip >= HEAD) {
                byte[] tail = Arrays.copyOfRange(secret, skip, secret.length);
                for (Base64.Encoder e : List.of(Base64.getEncoder(), Base64.getUrlEncoder())) {
                    // 16 characters: exactly 12 bytes, so padding or what follows does not matter
                    forms.add(e.encodeToString(tail).substring(0, HEAD * 4 / 3));
                }
            }
        }
        String text = new String(secret, StandardCharsets.ISO_8859_1);
        if (text.chars().allMatch(ch -> ch >= 0x20 && ch < 0x7f)) {
            forms.add(text);
        }
        return forms.stream().map(f -> f.toLowerCase(Locale.ROOT)).toList();
    }

    /**
     * Where {@code text} shows a secret: "NAME as 'FORM' at offset N" for each named secret whose
     * form it contains (case-insensitive); empty when none.
     */
    public static List<String> findIn(String text, Map<String, byte[]> secrets) {
        String lower = text.toLowerCase(Locale.ROOT);
        List<String> hits = new ArrayList<>();
        secrets.forEach((name, secret) -> {
            for (String form : of(secret)) {
                int at = lower.indexOf(form);
                if (at >= 0) {
                    hits.add(name + " as '" + form + "' at offset " + at);
                }
            }
        });
        return hits;
    }
}
