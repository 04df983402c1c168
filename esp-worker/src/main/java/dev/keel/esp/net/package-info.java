/**
 * The outer transport of the data plane: ESP and IKE in UDP (RFC 3948) on Netty epoll datagram
 * channels registered on Vert.x's own event loops, one socket per loop on one address
 * ({@code SO_REUSEPORT}), read with {@code recvmmsg} and written in flushed batches.
 * {@link dev.keel.esp.net.IkeHandoff} is where IKE messages on port 4500 leave the data plane.
 */
package dev.keel.esp.net;
