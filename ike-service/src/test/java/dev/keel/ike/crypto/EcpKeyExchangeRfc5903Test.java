package dev.keel.ike.crypto;

import static dev.keel.ike.crypto.TestRandom.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.transform.KeyExchangeTransform;
import java.math.BigInteger;
import org.junit.jupiter.api.Test;

/** ECP groups 19/20/21 against the RFC 5903 §8 test vectors, and RFC 6989 §2.3 peer checks. */
class EcpKeyExchangeRfc5903Test {

    private static void check(KeyExchangeTransform group, String i, String gix, String giy, String r, String grx,
            String gry, String girx) throws Exception {
        EcpKeyExchange initiator = new EcpKeyExchange(group, new BigInteger(1, hex(i)));
        EcpKeyExchange responder = new EcpKeyExchange(group, new BigInteger(1, hex(r)));
        // RFC 5903 §7: KE data is x | y with no point-format octet
        assertThat(hex(initiator.publicValue())).isEqualToIgnoringCase(gix + giy);
        assertThat(hex(responder.publicValue())).isEqualToIgnoringCase(grx + gry);
        assertThat(initiator.publicValue()).hasSize(group.publicValueLength());
        assertThat(hex(initiator.sharedSecret(responder.publicValue()))).isEqualToIgnoringCase(girx);
        assertThat(hex(responder.sharedSecret(initiator.publicValue()))).isEqualToIgnoringCase(girx);
    }

    @Test
    void group19Section81() throws Exception {
        check(KeyExchangeTransform.ECP_256,
                "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
                "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180",
                "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
                "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
                "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
                "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
                "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE");
    }

    @Test
    void group20Section82() throws Exception {
        check(KeyExchangeTransform.ECP_384,
                "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194",
                "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F41AA",
                "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C",
                "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A7448FC",
                "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571",
                "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
                "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59746");
    }

    @Test
    void group21Section83() throws Exception {
        check(KeyExchangeTransform.ECP_521,
                "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A095AA85A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D4A52",
                "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBEE1E3BF42E00B8E380AEAE57C2D107564941885942AF5A7F4601723C4195D176CED3E",
                "017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10AD8A788015AC405D7799DC75E7B7D5B6CF2261A6A7F1507438BF01BEB6CA3926F9582",
                "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E9C677D600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB151685EB9",
                "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A219B97C356436ADC6E95BB0352F6BE64A6C2912D4EF2D0433CED2B6171640012D9460F",
                "015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B87220B6536C5C408A1D2AEBB8E86D678AE49CB57091F4732296579AB44FCD17F0FC56A",
                "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04D1427E73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3DDEA");
    }

    private static final String GRX = "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63";
    private static final String GRY = "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB";
    private static final String P256 = "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF";

    private static InvalidKeyExchangeException.Reason reject(String peerHex) {
        try (KeyExchange ke = KeyExchange.create(KeyExchangeTransform.ECP_256, new TestRandom(1))) {
            ke.sharedSecret(hex(peerHex));
            throw new AssertionError("accepted " + peerHex);
        } catch (InvalidKeyExchangeException e) {
            assertThat(e.getMessage()).contains("ECP_256");
            return e.reason();
        }
    }

    @Test
    void rfc6989OffCurvePointIsRejected() {
        // RFC 5903 §8.1's g^r with the last bit of x flipped is not on the curve
        assertThat(reject(GRX.substring(0, 63) + "2" + GRY)).isEqualTo(InvalidKeyExchangeException.Reason.INVALID_PUBLIC_VALUE);
    }

    @Test
    void infinityAndOutOfRangeCoordinatesAreRejected() {
        // (0, 0) is how an "infinity" would be spelled in x | y; it is not on the curve either
        assertThat(reject("00".repeat(64))).isEqualTo(InvalidKeyExchangeException.Reason.INVALID_PUBLIC_VALUE);
        // x = p (congruent to 0) must not pass as a reduced coordinate
        assertThat(reject(P256 + GRY)).isEqualTo(InvalidKeyExchangeException.Reason.INVALID_PUBLIC_VALUE);
        assertThat(reject("FF".repeat(64))).isEqualTo(InvalidKeyExchangeException.Reason.INVALID_PUBLIC_VALUE);
    }

    @Test
    void wrongLengthIsDistinguishable() {
        // with the 0x04 prefix some stacks add: 65 bytes
        assertThat(reject("04" + GRX + GRY)).isEqualTo(InvalidKeyExchangeException.Reason.WRONG_LENGTH);
        assertThat(reject(GRX)).isEqualTo(InvalidKeyExchangeException.Reason.WRONG_LENGTH);
        assertThat(reject("")).isEqualTo(InvalidKeyExchangeException.Reason.WRONG_LENGTH);
    }

    @Test
    void generatedKeysAgreeAndAreDeterministicUnderASeededRandom() throws Exception {
        for (KeyExchangeTransform g : new KeyExchangeTransform[] {KeyExchangeTransform.ECP_256,
                KeyExchangeTransform.ECP_384, KeyExchangeTransform.ECP_521}) {
            try (KeyExchange a = KeyExchange.create(g, new TestRandom(7));
                    KeyExchange a2 = KeyExchange.create(g, new TestRandom(7));
                    KeyExchange b = KeyExchange.create(g, new TestRandom(8))) {
                assertThat(a.publicValue()).isEqualTo(a2.publicValue()).hasSize(g.publicValueLength());
                assertThat(a.sharedSecret(b.publicValue())).isEqualTo(b.sharedSecret(a.publicValue()))
                        .hasSize(g.publicValueLength() / 2);
            }
        }
    }

    @Test
    void closedKeyExchangeRefusesToAgree() {
        KeyExchange ke = KeyExchange.create(KeyExchangeTransform.ECP_256, new TestRandom(3));
        byte[] peer = KeyExchange.create(KeyExchangeTransform.ECP_256, new TestRandom(4)).publicValue();
        ke.close();
        assertThatThrownBy(() -> ke.sharedSecret(peer)).isInstanceOf(IllegalStateException.class);
    }
}
