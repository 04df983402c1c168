/**
 * IKEv2 cryptography: key exchange ({@link dev.keel.ike.crypto.KeyExchange}, RFC 3526 / 5903 /
 * 8031 with RFC 6989 peer checks), the PRF and prf+ ({@link dev.keel.ike.crypto.Prf}), key
 * derivation ({@link dev.keel.ike.crypto.KeyDerivation}, RFC 7296 §2.14, §2.17, §2.18), SK payload
 * protection ({@link dev.keel.ike.crypto.SkCiphers}), and authentication: shared key
 * ({@link dev.keel.ike.crypto.Auth}), RFC 7427 digital signatures
 * ({@link dev.keel.ike.crypto.SignatureAuth}) and X.509 ({@link dev.keel.ike.crypto.Certificates}).
 * Nothing here logs, and no exception message carries key material.
 */
package dev.keel.ike.crypto;
