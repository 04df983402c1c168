package dev.keel.ike.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpRange;
import dev.keel.ike.message.IkeIdentity;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code local_addrs} / {@code remote_addrs} in swanctl's syntax: addresses, prefixes, ranges, %any. */
class IkeConnectionAddressesTest {

    private static IkeConnection connection(List<String> local, List<String> remote) {
        return new IkeConnection("c", IkeConnection.addresses(local), IkeConnection.addresses(remote), 500,
                IkeIdentity.parse("gw.example"), null, new IkeConnection.Auth.Psk(new byte[20]), List.of(), false,
                Duration.ZERO, List.of());
    }

    @Test
    void prefixesRangesAndAnyAcceptTheirAddressesOnly() {
        IkeConnection c = connection(List.of("192.0.2.1"), List.of("198.51.100.2", "198.18.0.0/15",
                "203.0.113.10-203.0.113.20", "%any6"));
        assertThat(c.acceptsRemote(IpAddress.parse("198.51.100.2"))).isTrue();
        assertThat(c.acceptsRemote(IpAddress.parse("198.19.255.255"))).isTrue();
        assertThat(c.acceptsRemote(IpAddress.parse("198.20.0.0"))).isFalse();
        assertThat(c.acceptsRemote(IpAddress.parse("203.0.113.15"))).isTrue();
        assertThat(c.acceptsRemote(IpAddress.parse("203.0.113.21"))).isFalse();
        assertThat(c.acceptsRemote(IpAddress.parse("2001:db8::1"))).isTrue();
        assertThat(c.acceptsLocal(IpAddress.parse("192.0.2.1"))).isTrue();
        assertThat(c.acceptsLocal(IpAddress.parse("192.0.2.2"))).isFalse();
        assertThat(c.canInitiate()).as("its first remote entry is one address").isTrue();
        assertThat(c.remoteEndpoint().getAddress().getHostAddress()).isEqualTo("198.51.100.2");

        IkeConnection any = connection(List.of("%any"), List.of("%any"));
        assertThat(any.acceptsRemote(IpAddress.parse("10.9.8.7"))).isTrue();
        assertThat(any.acceptsLocal(IpAddress.parse("10.9.8.7"))).isTrue();
        assertThat(any.canInitiate()).isFalse();
    }

    @Test
    void aConnectionWhoseFirstRemoteEntryIsNotOneAddressOnlyAnswers() {
        IkeConnection c = connection(List.of(), List.of("198.18.0.0/15", "198.51.100.2"));
        assertThat(c.canInitiate()).isFalse();
        assertThatThrownBy(c::remoteEndpoint).hasMessageContaining("first entry of remote_addrs must be one address");
        assertThat(IkeConnection.addresses(List.of("%any4"))).containsExactly(
                IpRange.parse("0.0.0.0-255.255.255.255"));
        assertThatThrownBy(() -> IkeConnection.addresses(List.of("198.18.0.0/33"))).hasMessageContaining("198.18.0.0/33");
    }
}
