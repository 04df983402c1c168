package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link SwanctlSas} against output captured from swanctl 5.9.8 (charon responder, one CHILD_SA). */
class SwanctlSasTest {

    /** {@code swanctl --list-sas --pretty} of a charon 5.9.8 responder, verbatim. */
    private static final String RESPONDER = """
            list-sa event {
              tunnel {
                uniqueid = 2
                version = 2
                state = ESTABLISHED
                local-host = 192.0.2.2
                local-port = 4500
                local-id = gw-b.keel.test
                remote-host = 192.0.2.1
                remote-port = 4500
                remote-id = gw-a.keel.test
                initiator-spi = c16c22de62e0be08
                responder-spi = 5ef07d99feb9bcbb
                nat-remote = yes
                nat-any = yes
                encr-alg = AES_CBC
                encr-keysize = 128
                integ-alg = HMAC_SHA2_256_128
                prf-alg = PRF_HMAC_SHA2_256
                dh-group = MODP_2048
                established = 0
                rekey-time = 13174
                child-sas {
                  net-1 {
                    name = net
                    uniqueid = 1
                    reqid = 1
                    state = INSTALLED
                    mode = TUNNEL
                    protocol = ESP
                    encap = yes
                    spi-in = 5a8e839a
                    spi-out = 21c8070f
                    encr-alg = AES_CBC
                    encr-keysize = 128
                    integ-alg = HMAC_SHA2_256_128
                    bytes-in = 0
                    packets-in = 0
                    bytes-out = 0
                    packets-out = 0
                    rekey-time = 3422
                    life-time = 3960
                    install-time = 0
                    local-ts = [
                      10.2.0.0/24
                    ]
                    remote-ts = [
                      10.1.0.0/24
                    ]
                  }
                }
              }
            }
            list-sas reply {
            }
            """;

    @Test
    void parsesIkeAndChildSa() {
        List<SwanctlSas.IkeSa> sas = SwanctlSas.parsePretty(RESPONDER);

        assertThat(sas).hasSize(1);
        SwanctlSas.IkeSa ike = sas.getFirst();
        assertThat(ike.name()).isEqualTo("tunnel");
        assertThat(ike.state()).isEqualTo("ESTABLISHED");
        assertThat(ike.initiator()).isFalse();
        assertThat(ike.initiatorSpi()).isEqualTo("c16c22de62e0be08");
        assertThat(ike.responderSpi()).isEqualTo("5ef07d99feb9bcbb");
        assertThat(ike.remoteId()).isEqualTo("gw-a.keel.test");
        // swanctl's own text form prints this line for the same SA.
        assertThat(ike.proposal()).isEqualTo("AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048");
        SwanctlSas.ChildSa child = ike.child("net").orElseThrow();
        assertThat(child.sectionName()).isEqualTo("net-1");
        assertThat(child.state()).isEqualTo("INSTALLED");
        assertThat(child.encap()).isTrue();
        assertThat(child.spiIn()).isEqualTo("5a8e839a");
        assertThat(child.spiOut()).isEqualTo("21c8070f");
        assertThat(child.proposal()).isEqualTo("AES_CBC-128/HMAC_SHA2_256_128");
        assertThat(child.localTs()).containsExactly("10.2.0.0/24");
        assertThat(child.remoteTs()).containsExactly("10.1.0.0/24");
    }

    @Test
    void emptyReplyIsNoSa() {
        assertThat(SwanctlSas.parsePretty("list-sas reply {\n}\n")).isEmpty();
        assertThat(SwanctlSas.parsePretty("")).isEmpty();
    }

    @Test
    void truncatedOutputIsAPreciseError() {
        String cut = RESPONDER.substring(0, RESPONDER.indexOf("child-sas"));
        assertThatThrownBy(() -> SwanctlSas.parsePretty(cut))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ends inside");
        assertThatThrownBy(() -> SwanctlSas.parsePretty("}\n"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("line 1");
    }
}
