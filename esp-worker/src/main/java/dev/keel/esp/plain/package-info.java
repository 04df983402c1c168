/**
 * The plaintext side of the data plane behind one TUN-shaped interface,
 * {@link dev.keel.esp.plain.PlaintextPort} (one {@link dev.keel.esp.plain.PlaintextQueue} per
 * event loop), and its unprivileged implementation for tests and benchmarks, the UDP
 * {@link dev.keel.esp.plain.VirtualWire}.
 */
package dev.keel.esp.plain;
