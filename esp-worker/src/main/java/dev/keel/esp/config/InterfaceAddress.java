package dev.keel.esp.config;

import dev.keel.core.net.IpAddress;

/** An address on an interface with its prefix length, as {@code ip addr add 192.168.1.1/24} takes it. */
public record InterfaceAddress(IpAddress address, int prefixLength) {

    @Override
    public String toString() {
        return address + "/" + prefixLength;
    }
}
