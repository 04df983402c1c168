package dev.keel.ike.engine;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSyntaxException;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.ike.crypto.Auth;
import dev.keel.ike.crypto.IkeSaKeys;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.crypto.InvalidKeyExchangeException;
import dev.keel.ike.crypto.KeyDerivation;
import dev.keel.ike.crypto.KeyExchange;
import dev.keel.ike.crypto.Prf;
import dev.keel.ike.crypto.Role;
import dev.keel.ike.crypto.SkCiphers;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import java.security.SecureRandom;
import java.util.List;

/** Runs every IKE crypto path once before the engine serves (see {@link #run}). */
final class CryptoWarmUp {

    private static final java.util.concurrent.atomic.AtomicBoolean DONE = new java.util.concurrent.atomic.AtomicBoolean();

    private CryptoWarmUp() {
    }

    /**
     * Loads and runs the crypto and codec paths once, on the constructing thread: the first use
     * of a class (Bouncy Castle's signed jar above all) costs hundreds of milliseconds on a busy
     * machine and must not happen on an event loop in the middle of an exchange. Every key
     * exchange group, and one SK round trip per cipher family, with throwaway keys; the first
     * engine of a process does it (it took 0.1 s per engine, most of a fuzz target's run).
     */
    static void run(SecureRandom random) {
        if (!DONE.compareAndSet(false, true)) {
            return; // class loading and the first compiles are the JVM's: once per process is enough
        }
        for (KeyExchangeTransform group : KeyExchangeTransform.values()) {
            if (group == KeyExchangeTransform.NONE) {
                continue;
            }
            try (KeyExchange a = KeyExchange.create(group, random);
                    KeyExchange.Response b = KeyExchange.respond(group, a.publicValue(), random)) {
                a.sharedSecret(b.publicValue());
            } catch (IllegalArgumentException | InvalidKeyExchangeException e) {
                // a group Keel does not implement: nothing to warm
            }
        }
        for (String suite : List.of("aes256gcm16-prfsha256-x25519", "aes128-sha256-modp2048",
                "chacha20poly1305-prfsha256-x25519")) {
            try {
                IkeSuite s = IkeSuite.from(Proposal.parse(Protocol.IKE, suite).effective());
                byte[] n = new byte[32];
                try (IkeSaKeys keys = KeyDerivation.ikeSa(s, n, n, n, new byte[8], new byte[8]);
                        SkCiphers.Pair i = SkCiphers.create(s, keys, Role.INITIATOR, random);
                        SkCiphers.Pair r = SkCiphers.create(s, keys, Role.RESPONDER, random)) {
                    IkeHeader h = IkeHeader.of(1, 2, ExchangeType.INFORMATIONAL, true, false, 0);
                    byte[] m = IkeMessage.encodeProtected(h, List.of(NotifyPayload.of(NotifyType.INITIAL_CONTACT)),
                            i.outbound()).bytes();
                    IkeMessage.decode(m, r.inbound());
                    Auth.pskAuth(Prf.of(s.prf()), n, n);
                }
            } catch (ProposalSyntaxException | RuntimeException e) {
                throw new IllegalStateException("IKE crypto self-test failed for " + suite, e);
            }
        }
    }
}
