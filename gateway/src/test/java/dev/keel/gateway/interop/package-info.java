/**
 * Interop harness: strongSwan's charon as the peer of Keel, in network namespaces.
 *
 * <p>{@link dev.keel.gateway.interop.NetnsTopology} builds two gateway namespaces joined by a veth
 * (192.0.2.1/24 - 192.0.2.2/24) with a host namespace behind each (10.1.0.0/24, 10.2.0.0/24) and
 * knows nothing about IKE; {@code NetnsTopology.createWithNatInFrontOfB()} puts a masquerading
 * router between them ({@link dev.keel.gateway.interop.NatTraversalInteropTest}). {@link dev.keel.gateway.interop.StrongSwanPeer} runs one charon in a
 * namespace for one {@link dev.keel.gateway.interop.ConnectionSpec}. To test Keel against charon,
 * start a {@code StrongSwanPeer} in {@code topo.b().gatewayNamespace()} only, and run the Keel
 * gateway in {@code topo.a().gatewayNamespace()} (e.g. {@code topo.startInBackground(ns, log,
 * "java", ...)}), giving it the same addresses, identities, PSK and proposals that
 * {@code ConnectionSpec.psk(topo.a(), topo.b(), ...)} would give charon; then drive traffic with
 * {@code topo.exec(topo.a().hostNamespace(), ...)} and assert on {@code peer.listSas()} and
 * {@code peer.log()}. {@link dev.keel.gateway.interop.CharonPairTest} is the charon-to-charon
 * reference run of the same steps.
 */
package dev.keel.gateway.interop;
