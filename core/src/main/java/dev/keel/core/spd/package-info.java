/**
 * The Security Policy Database as the data plane reads it: an immutable, ordered list of entries
 * (RFC 4301 §4.4.1, first match wins) and an allocation-free lookup for the packet path.
 *
 * <p>Pure: no I/O, no threads. Compiling the entries from a configuration is policy-service's job.
 */
package dev.keel.core.spd;
