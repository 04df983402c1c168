package dev.keel.ike.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.crypto.SkCipher;
import dev.keel.ike.crypto.SkCiphers;
import dev.keel.ike.message.IkeDecodeResult;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Properties;

/** Setup the IKE fuzz targets share: a real IKE SA's keys and the checks every decode outcome must pass. */
final class IkeFuzzing {

    /**
     * The IKE SA of the charon exchange whose datagrams seed these targets (bench/fuzz/capture-ike-seeds.sh
     * wrote both): strongSwan's SK_ei / SK_er, so the captured IKE_AUTH and INFORMATIONAL messages verify.
     */
    static final Properties CAPTURED_SA = properties("/dev/keel/ike/fuzz/strongswan-ike-sa.properties");

    private IkeFuzzing() {
    }

    static Properties properties(String resource) {
        try (InputStream in = IkeFuzzing.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            Properties p = new Properties();
            p.load(in);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One direction's SK cipher of {@code keychain}: initiator to responder (SK_ei/SK_ai) or back. */
    static SkCipher cipher(Properties keychain, boolean fromInitiator) {
        try {
            IkeSuite suite = IkeSuite.from(Proposal.parse(Protocol.IKE, keychain.getProperty("proposal")).effective());
            HexFormat hex = HexFormat.of();
            return SkCiphers.create(suite, hex.parseHex(keychain.getProperty(fromInitiator ? "sk_ei" : "sk_er")),
                    hex.parseHex(keychain.getProperty(fromInitiator ? "sk_ai" : "sk_ar")), new SecureRandom());
        } catch (Exception e) {
            throw new IllegalStateException("bad keychain " + keychain, e);
        }
    }

    /**
     * What every decode must give: one of the four outcomes, a reason for a drop, a header from
     * 28 bytes on, and for an unprotected message that decode accepted, a re-encoding that decodes
     * to the same payloads (nothing read that cannot be written back).
     */
    static void checkOutcome(byte[] datagram, IkeDecodeResult result) {
        assertThat(result).isNotNull();
        switch (result) {
            case IkeDecodeResult.UnprotectedError e -> {
                assertThat(e.reason()).isNotNull();
                assertThat(e.detail()).isNotBlank();
                assertThat(e.header() == null).isEqualTo(datagram.length < IkeHeader.LENGTH);
            }
            case IkeDecodeResult.ProtectedError e -> assertThat(e.notifyType()).isNotNull();
            case IkeDecodeResult.Fragment f -> assertThat(f.bodyOffset()).isBetween(IkeHeader.LENGTH + 8, datagram.length);
            case IkeDecodeResult.Ok ok -> {
                assertThat(ok.message().bytes()).isEqualTo(datagram);
                if (!ok.message().isProtected()) {
                    IkeMessage again = IkeMessage.encode(ok.message().header(), ok.message().payloads());
                    IkeDecodeResult second = IkeMessage.decode(again.bytes(), null);
                    assertThat(second).isInstanceOf(IkeDecodeResult.Ok.class);
                    assertThat(((IkeDecodeResult.Ok) second).message().payloads())
                            .hasSameSizeAs(ok.message().payloads());
                }
            }
        }
    }
}
