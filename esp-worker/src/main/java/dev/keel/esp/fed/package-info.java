/**
 * The esp-worker as a process of its own in a split deployment: SAs from sad-service's Watch
 * stream (those the SAD says this node owns), the SPD from policy-service, both over gRPC
 * (mutual TLS off the host), and one command, {@link dev.keel.esp.fed.FedWorkerMain}
 * (docs/esp-worker.md).
 */
package dev.keel.esp.fed;
