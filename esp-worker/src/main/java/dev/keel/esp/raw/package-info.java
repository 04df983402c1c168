/**
 * Raw ESP (IP protocol 50) as a second outer transport next to ESP-in-UDP: a raw socket per
 * address family opened through the foreign-function API, read on one event loop.
 */
package dev.keel.esp.raw;
