/**
 * What the data plane tells the IKE service: an {@link dev.keel.esp.acquire.Acquire} when a
 * packet hits a PROTECT policy that has no SA (RFC 4301 §5.1, the kernel's ACQUIRE), rate-limited
 * by {@link dev.keel.esp.acquire.AcquireLimiter}, and SA lifetime expiries through
 * {@link dev.keel.esp.acquire.ExpiryListener}.
 */
package dev.keel.esp.acquire;
