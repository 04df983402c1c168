package dev.keel.ike.message;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** strongSwan's identity syntax (identification_create_from_string) and RFC 7296 §3.5 ID data. */
class IkeIdentityTest {

    @Test
    void addresses() {
        IkeIdentity v4 = IkeIdentity.parse("192.0.2.1");
        assertThat(v4.idType()).isEqualTo(IdType.ID_IPV4_ADDR);
        assertThat(v4.data()).containsExactly(192, 0, 2, 1);
        assertThat(v4).hasToString("192.0.2.1");
        IkeIdentity v6 = IkeIdentity.parse("2001:db8::1");
        assertThat(v6.idType()).isEqualTo(IdType.ID_IPV6_ADDR);
        assertThat(v6.data()).hasSize(16);
        assertThat(v6).hasToString("2001:db8::1");
    }

    @Test
    void namesAreFqdnOrRfc822AndCompareIgnoringCase() {
        IkeIdentity plain = IkeIdentity.parse("host.example");
        assertThat(plain.idType()).isEqualTo(IdType.ID_FQDN);
        assertThat(plain.data()).isEqualTo("host.example".getBytes(StandardCharsets.US_ASCII));
        assertThat(IkeIdentity.parse("@host.example")).isEqualTo(plain);
        assertThat(IkeIdentity.parse("fqdn:HOST.example")).isEqualTo(plain).hasSameHashCodeAs(plain);
        assertThat(plain).hasToString("host.example");
        IkeIdentity mail = IkeIdentity.parse("user@example");
        assertThat(mail.idType()).isEqualTo(IdType.ID_RFC822_ADDR);
        assertThat(mail).isEqualTo(IkeIdentity.parse("email:User@Example")).isNotEqualTo(plain);
        assertThat(IkeIdentity.parse("1.2.3")).extracting(IkeIdentity::idType).isEqualTo(IdType.ID_FQDN);
    }

    @Test
    void distinguishedNamesAreDerInTheOrderWritten() {
        IkeIdentity dn = IkeIdentity.parse("C=CH, O=Keel, CN=gw1");
        assertThat(dn.idType()).isEqualTo(IdType.ID_DER_ASN1_DN);
        // X.690 DER by hand: SEQUENCE of SETs of {OID 2.5.4.6 PrintableString, 2.5.4.10 UTF8, 2.5.4.3 UTF8}
        assertThat(HexFormat.of().formatHex(dn.data())).isEqualTo("302a"
                + "310b300906035504061302" + "4348"
                + "310d300b060355040a0c04" + "4b65656c"
                + "310c300a06035504030c03" + "677731");
        assertThat(dn).hasToString("C=CH, O=Keel, CN=gw1");
        assertThat(IkeIdentity.parse("C=CH,O=Keel,CN=gw1")).isEqualTo(dn);
        assertThat(IkeIdentity.parse("C=CH, O=keel, CN=GW1")).isEqualTo(dn); // X.520 caseIgnoreMatch
        assertThat(IkeIdentity.parse("C=CH, O=Keel, CN=gw2")).isNotEqualTo(dn);
        assertThat(IkeIdentity.of(IdType.ID_DER_ASN1_DN.value(), dn.data())).isEqualTo(dn);
    }

    @Test
    void keyIdsAndOddInput() {
        IkeIdentity k = IkeIdentity.parse("@#0a1b2c");
        assertThat(k.idType()).isEqualTo(IdType.ID_KEY_ID);
        assertThat(k.data()).containsExactly(0x0a, 0x1b, 0x2c);
        assertThat(k).hasToString("@#0a1b2c").isEqualTo(IkeIdentity.parse("keyid:0a:1b:2c"));
        assertThatThrownBy(() -> IkeIdentity.parse("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> IkeIdentity.parse("@#xyz")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> IkeIdentity.parse("XX=1, CN=a")).isInstanceOf(IllegalArgumentException.class);
        // a DN payload whose data is not DER prints as hex instead of throwing
        assertThat(IkeIdentity.of(IdType.ID_DER_ASN1_DN.value(), new byte[] {1, 2})).hasToString("@#0102");
        assertThat(IkeIdentity.of(IdType.ID_IPV4_ADDR.value(), new byte[] {1, 2}).toString()).isEqualTo("@#0102");
    }

    @Test
    void identitiesRoundTripThroughIdPayloads() throws Exception {
        for (String text : new String[] {"192.0.2.1", "2001:db8::1", "host.example", "user@example",
                "C=CH, O=Keel, CN=gw1", "@#0a1b"}) {
            IkeIdentity id = IkeIdentity.parse(text);
            IdPayload p = IdPayload.decode(true, IdPayload.of(true, id).encodeBody());
            assertThat(p.identity()).isEqualTo(id).hasToString(id.toString());
            assertThat(IkeIdentity.parse(id.toString())).isEqualTo(id);
        }
    }
}
