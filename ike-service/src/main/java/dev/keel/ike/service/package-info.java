/**
 * ike-service as a service: CHILD SAs negotiated by the engine go to sad-service
 * ({@link dev.keel.ike.service.SadChildInstaller}), connections come from policy-service's Watch
 * stream ({@link dev.keel.ike.service.PolicyWatcher}), and {@link dev.keel.ike.service.IkeServiceMain}
 * runs the engine alone in its own process.
 */
package dev.keel.ike.service;
