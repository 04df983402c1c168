package dev.keel.ike.task;

import dev.keel.ike.session.Task;
import dev.keel.ike.session.OutboundMessage;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.crypto.Auth;
import dev.keel.ike.crypto.Certificates;
import dev.keel.ike.crypto.KeyDerivation;
import dev.keel.ike.crypto.SignatureAuth;
import dev.keel.ike.crypto.SignatureScheme;
import dev.keel.ike.message.AuthMethod;
import dev.keel.ike.message.AuthPayload;
import dev.keel.ike.message.CertEncoding;
import dev.keel.ike.message.CertPayload;
import dev.keel.ike.message.CertReqPayload;
import dev.keel.ike.message.DeletePayload;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IdPayload;
import dev.keel.ike.message.IkeIdentity;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.session.ConnectionDirectory;
import dev.keel.ike.session.IkeSa;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAKey;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * IKE_AUTH's authentication (RFC 7296 §1.2, §2.15): identities, certificates and the AUTH
 * payload, with a pre-shared key or an RFC 7427 digital signature. The responder picks the
 * connection by the initiator's identity among those its address matched; a failed check gets
 * AUTHENTICATION_FAILED and nothing else (§2.21.2), and the IKE SA is gone.
 */
public final class IkeAuthTask implements Task {

    private static final Logger LOG = LoggerFactory.getLogger(IkeAuthTask.class);

    private final IkeSa sa;
    private final boolean initiator;
    private boolean authFailed;
    /** Responder: the message ID of the IKE_AUTH request, which RFC 9242 §3.3.2 has the AUTH payloads cover. */
    private long requestId;

    private IkeAuthTask(IkeSa sa, boolean initiator) {
        this.sa = sa;
        this.initiator = initiator;
    }

    /** The initiator's task. */
    public static IkeAuthTask initiator(IkeSa sa) {
        return new IkeAuthTask(sa, true);
    }

    /** The responder's task. */
    public static IkeAuthTask responder(IkeSa sa) {
        return new IkeAuthTask(sa, false);
    }

    @Override
    public Status build(OutboundMessage m) {
        if (!initiator && authFailed) {
            m.onlyError(NotifyType.AUTHENTICATION_FAILED, new byte[0]);
            return Status.FAILED;
        }
        IkeConnection c = sa.connection();
        IdPayload id = IdPayload.of(initiator, c.localId());
        m.add(id);
        if (c.auth() instanceof IkeConnection.Auth.PubKey pk) {
            for (X509Certificate cert : pk.chain()) {
                m.add(new CertPayload(CertEncoding.X509_SIGNATURE.value(), encoded(cert)));
            }
            if (initiator) {
                m.add(certificateRequest(pk));
            }
        }
        if (initiator && c.remoteId() != null) {
            m.add(IdPayload.of(false, c.remoteId()));
        }
        byte[] octets = signedOctets(true, id.idType(), id.data(), initiator ? sa.tasks().nextRequestId() : requestId);
        AuthPayload auth = switch (c.auth()) {
            case IkeConnection.Auth.Psk psk -> new AuthPayload(AuthMethod.SHARED_KEY_MIC.value(),
                    Auth.pskAuth(sa.prf(), psk.secret(), octets));
            case IkeConnection.Auth.PubKey pk -> {
                SignatureScheme scheme = SignatureScheme.choose(pk.chain().getFirst().getPublicKey(),
                        sa.peerSignatureHashes().stream().map(SignatureScheme.HashAlgorithm::byId)
                                .filter(Objects::nonNull).toList(), pk.signPss());
                yield scheme == null ? null : new AuthPayload(SignatureAuth.AUTH_METHOD_DIGITAL_SIGNATURE,
                        SignatureAuth.sign(scheme, pk.key(), octets));
            }
        };
        if (auth == null) {
            sa.noteFailure("peer announced no signature hash our key can use: " + sa.peerSignatureHashes());
            m.onlyError(NotifyType.AUTHENTICATION_FAILED, new byte[0]);
            return Status.FAILED;
        }
        m.add(auth);
        // RFC 6311: after a takeover the node that carries this IKE SA on may synchronize message IDs
        m.notify(NotifyType.IKEV2_MESSAGE_ID_SYNC_SUPPORTED);
        if (initiator ? c.mobike() : sa.mobike()) { // RFC 4555 §3.2: the responder only answers the initiator's
            m.notify(NotifyType.MOBIKE_SUPPORTED);
        }
        if (!initiator) {
            sa.established();
        }
        return Status.DONE;
    }

    @Override
    public Status process(IkeMessage m) {
        requestId = m.header().messageId();
        if (initiator) {
            Optional<NotifyPayload> error = m.payloads(NotifyPayload.class).stream().filter(NotifyPayload::isError)
                    .filter(n -> n.notifyType() == NotifyType.AUTHENTICATION_FAILED
                            || n.notifyType() == NotifyType.INVALID_SYNTAX
                            || n.notifyType() == NotifyType.NO_PROPOSAL_CHOSEN && m.first(AuthPayload.class).isEmpty())
                    .findFirst();
            if (error.isPresent()) {
                NotifyType type = error.get().notifyType();
                if (type == NotifyType.AUTHENTICATION_FAILED) {
                    sa.noteFailure(IkeSa.FailureCause.AUTHENTICATION, "peer answered IKE_AUTH with " + type);
                }
                return fail("peer answered IKE_AUTH with " + type);
            }
        }
        sa.peerMessageIdSync(m.notify(NotifyType.IKEV2_MESSAGE_ID_SYNC_SUPPORTED).isPresent());
        List<IdPayload> ids = m.payloads(IdPayload.class).stream().filter(i -> i.initiator() != initiator).toList();
        Optional<AuthPayload> auth = m.first(AuthPayload.class);
        if (ids.size() != 1 || auth.isEmpty()) {
            return reject("IKE_AUTH " + (initiator ? "response" : "request") + " without the peer's ID or AUTH");
        }
        IdPayload peerId = ids.getFirst();
        IkeIdentity identity = IkeIdentity.of(peerId.idType(), peerId.data());
        if (!initiator) {
            Optional<IkeConnection> chosen = ConnectionDirectory.byPeerIdentity(candidatesWithProposal(), identity);
            if (chosen.isEmpty()) {
                return reject("no connection for peer identity " + identity);
            }
            sa.connection(chosen.get());
        } else if (sa.connection().remoteId() != null && !sa.connection().remoteId().equals(identity)) {
            return reject("responder identified as " + identity + ", expected " + sa.connection().remoteId());
        }
        sa.mobike(sa.connection().mobike() && m.notify(NotifyType.MOBIKE_SUPPORTED).isPresent());
        byte[] octets = signedOctets(false, peerId.idType(), peerId.data(), m.header().messageId());
        String problem = verify(m, auth.get(), peerId, octets);
        if (problem != null) {
            return reject(problem);
        }
        sa.peerIdentity(identity);
        if (initiator) {
            sa.established();
        }
        return Status.DONE;
    }

    private List<IkeConnection> candidatesWithProposal() {
        return sa.candidates().stream().filter(c -> c.proposals().stream()
                .anyMatch(p -> dev.keel.core.proposal.ProposalSelector.select(List.of(p), List.of(sa.proposal())).isPresent()))
                .toList();
    }

    private String verify(IkeMessage m, AuthPayload auth, IdPayload peerId, byte[] octets) {
        IkeConnection c = sa.connection();
        return switch (c.auth()) {
            case IkeConnection.Auth.Psk psk -> auth.method() != AuthMethod.SHARED_KEY_MIC.value()
                    ? "peer authenticated with method " + auth.method() + ", expected a shared key"
                    : Auth.verifyPskAuth(sa.prf(), psk.secret(), octets, auth.data()) ? null
                    : "shared-key AUTH does not verify (wrong PSK?)";
            case IkeConnection.Auth.PubKey pk -> verifySignature(m, auth, peerId, octets, pk);
        };
    }

    private String verifySignature(IkeMessage m, AuthPayload auth, IdPayload peerId, byte[] octets,
            IkeConnection.Auth.PubKey pk) {
        if (auth.method() != SignatureAuth.AUTH_METHOD_DIGITAL_SIGNATURE) {
            return "peer authenticated with method " + auth.method() + "; Keel takes RFC 7427 digital signatures (14)";
        }
        List<X509Certificate> certs = new ArrayList<>();
        for (CertPayload cert : m.payloads(CertPayload.class)) {
            if (cert.encoding() != CertEncoding.X509_SIGNATURE.value()) {
                continue;
            }
            try {
                certs.add(Certificates.parseDer(cert.data()));
            } catch (CertificateException e) {
                return "peer's certificate does not parse: " + e.getMessage();
            }
        }
        if (certs.isEmpty()) {
            return "peer sent no X.509 certificate";
        }
        X509Certificate endEntity = certs.getFirst();
        try {
            Certificates.validate(endEntity, certs.subList(1, certs.size()), pk.trustAnchors(), pk.crls(), new Date());
        } catch (Certificates.ChainValidationException e) {
            return e.getMessage();
        }
        if (!Certificates.matchesIdentity(endEntity, peerId.idType(), peerId.data())) {
            return "peer identity " + IkeIdentity.of(peerId.idType(), peerId.data()) + " is not in its certificate";
        }
        SignatureScheme scheme = SignatureAuth.scheme(auth.data());
        // RFC 7427 §4 cannot ask for PSS, so remote rsa/pss refuses the PKCS#1 v1.5 schemes (no PSS parameters)
        if (pk.requirePss() && endEntity.getPublicKey() instanceof RSAKey && scheme != null
                && scheme.parameterSpec() == null) {
            return "peer signed with " + scheme + "; 'remote.auth: rsa/pss' requires RSASSA-PSS";
        }
        SignatureAuth.Verdict verdict = SignatureAuth.verify(endEntity.getPublicKey(), auth.data(), octets);
        if (verdict != SignatureAuth.Verdict.VALID) {
            return "signature AUTH: " + verdict;
        }
        LOG.info("{}: authentication of '{}' with {} successful (certificate '{}')", sa, IkeIdentity.of(peerId.idType(),
                peerId.data()), scheme, endEntity.getSubjectX500Principal().getName());
        return null;
    }

    /**
     * The octets the AUTH of one side covers (RFC 7296 §2.15): that side's IKE_SA_INIT message,
     * the other side's nonce and prf(SK_px, its ID payload body), then, after IKE_INTERMEDIATE
     * exchanges, IntAuth_iN | IntAuth_rN | IKE_AUTH_MID (RFC 9242 §3.3.2).
     */
    private byte[] signedOctets(boolean ours, int idType, byte[] idData, long ikeAuthMessageId) {
        boolean ofInitiator = ours == initiator;
        byte[] message = ofInitiator ? sa.initRequest() : sa.initResponse();
        byte[] nonce = ofInitiator ? sa.nr() : sa.ni();
        byte[] skP = ofInitiator ? sa.keys().skPi() : sa.keys().skPr();
        byte[] octets = Auth.signedOctets(sa.prf(), message, nonce, skP, idType, idData);
        byte[] intAuth = sa.intAuth(ikeAuthMessageId);
        return intAuth.length == 0 ? octets : KeyDerivation.concatenate(octets, intAuth);
    }

    private Status reject(String reason) {
        sa.noteFailure(IkeSa.FailureCause.AUTHENTICATION, reason);
        authFailed = true;
        if (initiator) {
            tellResponder();
        }
        return Status.FAILED;
    }

    /**
     * The responder established its IKE SA when it answered; an initiator that rejects the
     * answer says so with AUTHENTICATION_FAILED in a separate INFORMATIONAL (RFC 7296 §2.21.2),
     * here with a Delete of the IKE SA so the responder drops it at once rather than at its next
     * liveness check. Sent once: our side is gone with the IKE SA, as strongSwan's.
     */
    private void tellResponder() {
        OutboundMessage info = new OutboundMessage(ExchangeType.INFORMATIONAL, false)
                .notify(NotifyType.AUTHENTICATION_FAILED).add(DeletePayload.ikeSa());
        sa.send(sa.encode(info, sa.tasks().nextRequestId()));
    }

    private Status fail(String reason) {
        sa.noteFailure(reason);
        return Status.FAILED;
    }

    private static byte[] encoded(X509Certificate cert) {
        try {
            return cert.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException("a loaded certificate always encodes", e);
        }
    }

    /** A CERTREQ naming the CAs we trust (RFC 7296 §3.7); peers like strongSwan send certificates only when asked. */
    static CertReqPayload certificateRequest(IkeConnection.Auth.PubKey pk) {
        return CertReqPayload.x509(pk.trustAnchors().stream().map(IkeAuthTask::spkiHash).toList());
    }

    /** SHA-1 of a CA's SubjectPublicKeyInfo, as CERTREQ carries it (RFC 7296 §3.7). */
    private static byte[] spkiHash(X509Certificate ca) {
        try {
            return MessageDigest.getInstance("SHA-1").digest(ca.getPublicKey().getEncoded());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is a required JCA algorithm", e);
        }
    }
}
