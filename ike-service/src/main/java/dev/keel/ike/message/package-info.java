/**
 * The IKEv2 message codec (RFC 7296 §3): the IKE header, one class per payload with a static
 * validating {@code decode} and an {@code encode}, and {@link dev.keel.ike.message.IkeMessage},
 * which chains payloads by their generic headers and seals or opens the SK payload through
 * {@link dev.keel.ike.crypto.SkCipher}. Wire classes keep what arrived (unknown transforms,
 * selector types, notify types and non-critical payloads); converters give the domain values
 * the engine reasons about ({@link dev.keel.ike.message.SaPayload#toProposals()},
 * {@link dev.keel.ike.message.TsPayload#toTrafficSelectors()},
 * {@link dev.keel.ike.message.IdPayload#identity()}).
 *
 * <p>Receiving is two steps: {@link dev.keel.ike.message.IkeHeader#peek} for the SA lookup by
 * SPI, then {@link dev.keel.ike.message.IkeMessage#decode} with that SA's cipher (or null),
 * which never throws and returns one {@link dev.keel.ike.message.IkeDecodeResult}:
 * <ul>
 *   <li>{@code Ok}: well formed; a protected message's ICV verified and it holds the inner payloads;</li>
 *   <li>{@code Fragment}: an SKF payload (RFC 7383), handed over unverified: the IKE SA verifies and reassembles it ({@code session.IkeFragmentation});</li>
 *   <li>{@code ProtectedError}: the ICV verified but the inner payloads are malformed
 *       (INVALID_SYNTAX) or hold an unknown critical payload (UNSUPPORTED_CRITICAL_PAYLOAD with
 *       the type as data): the engine answers a request with that notify;</li>
 *   <li>{@code UnprotectedError}: anything found before an ICV vouched for the message, by
 *       reason (truncated, bad length, bad version, malformed or critical payload in clear, SK
 *       not last, clear payloads before SK or a post-IKE_SA_INIT exchange without SK, no
 *       cipher, ICV failed): dropped and counted. For an IKE_SA_INIT request it suggests the
 *       notify a responder may send (INVALID_MAJOR_VERSION, INVALID_SYNTAX,
 *       UNSUPPORTED_CRITICAL_PAYLOAD).</li>
 * </ul>
 * Checks are done in that order: header, lengths of the outer chain and payload bodies in clear,
 * then the ICV, then the inner chain.
 */
package dev.keel.ike.message;
