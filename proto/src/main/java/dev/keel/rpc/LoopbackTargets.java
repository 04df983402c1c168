package dev.keel.rpc;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * The one rule for plaintext gRPC between Keel's services: only to this host (a {@code unix:}
 * socket, or a name whose every address is loopback). Off the host a plaintext channel would
 * carry wrapped or plain SA keys, leases and connections to a server nobody authenticated.
 */
public final class LoopbackTargets {

    private LoopbackTargets() {}

    /**
     * Why a plaintext channel to the gRPC target {@code target} ({@code host:port},
     * {@code [v6]:port}, {@code dns:///host:port} or {@code unix:PATH}) is refused, or null when
     * it stays on this host. The reason ends before the caller's hint of how to give TLS.
     */
    public static String plaintextRefusal(String target) {
        if (target.startsWith("unix:")) {
            return null;
        }
        String authority = target.replaceFirst("^dns:(//[^/]*)?/", "");
        String host = authority.startsWith("[") && authority.indexOf(']') > 0
                ? authority.substring(1, authority.indexOf(']'))
                : authority.lastIndexOf(':') > 0 ? authority.substring(0, authority.lastIndexOf(':')) : authority;
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host);
        } catch (UnknownHostException | SecurityException e) {
            return "cannot resolve '" + host + "' to check it is loopback; plaintext gRPC is for this host only";
        }
        for (InetAddress a : addresses) {
            if (!a.isLoopbackAddress()) {
                return "plaintext gRPC only to a loopback address or unix: socket, and '" + host + "' is "
                        + a.getHostAddress();
            }
        }
        return null;
    }
}
