/**
 * The forwarding path: per event loop, plaintext in → route → ESP encapsulation → UDP out, and
 * UDP in → demultiplex → ESP decapsulation → plaintext out, with lock-free shared tables and
 * no remote call per packet. {@link dev.keel.esp.forward.StaticGateway} assembles one node from
 * statically keyed SA pairs until the SPD and SAD streams feed the tables.
 */
package dev.keel.esp.forward;
