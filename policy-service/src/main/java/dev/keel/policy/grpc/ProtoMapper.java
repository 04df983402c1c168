package dev.keel.policy.grpc;

import com.google.protobuf.ByteString;
import dev.keel.core.proposal.Proposal;
import dev.keel.policy.config.AuthConfig;
import dev.keel.policy.config.ChildConfig;
import dev.keel.policy.config.CompiledPolicy;
import dev.keel.core.config.ConfigProblem;
import dev.keel.policy.config.ConnectionConfig;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.policy.store.ConfigDelta;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.Auth;
import dev.keel.proto.v1.AuthMethod;
import dev.keel.proto.v1.Child;
import dev.keel.proto.v1.Connection;
import dev.keel.proto.v1.CloseAction;
import dev.keel.proto.v1.DpdAction;
import dev.keel.proto.v1.PolicyDelta;
import dev.keel.proto.v1.PolicyEvent;
import dev.keel.proto.v1.PolicySnapshot;
import dev.keel.proto.v1.StartAction;
import java.util.List;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;

/**
 * Domain configuration to keel.v1 messages. Secrets have no mapping: a message can carry a
 * secret's name ({@code Auth.secret_ref}) and nothing else of it.
 */
final class ProtoMapper {

    private ProtoMapper() {
    }

    static Connection connection(ConnectionConfig c) {
        Connection.Builder b = Connection.newBuilder()
                .setName(c.name())
                .setVersion(c.version())
                .addAllLocalAddrs(c.localAddrs())
                .addAllRemoteAddrs(c.remoteAddrs())
                .setLocal(auth(c.local()))
                .setRemote(auth(c.remote()))
                .setDpdDelaySeconds(c.dpdDelay().toSeconds())
                .setEncap(c.encap())
                .setMobike(c.mobike())
                .setRekeyTimeSeconds(c.rekeyTime().toSeconds())
                .setOverTimeSeconds(c.overTime().toSeconds())
                .setRandTimeSeconds(c.randTime().toSeconds())
                .setReauthTimeSeconds(c.reauthTime().toSeconds())
                .setFragmentation(c.fragmentation());
        for (Proposal p : c.proposals()) {
            b.addProposals(p.toString());
        }
        for (ChildConfig child : c.children()) {
            b.addChildren(child(child));
        }
        return b.build();
    }

    private static Auth auth(AuthConfig a) {
        Auth.Builder b = Auth.newBuilder()
                .setMethod(a.method() == dev.keel.policy.config.AuthMethod.PSK ? AuthMethod.AUTH_METHOD_PSK
                        : AuthMethod.AUTH_METHOD_PUBKEY)
                .setId(a.id());
        if (a.secretRef() != null) {
            b.setSecretRef(a.secretRef());
        }
        for (X509Certificate cert : a.certs()) {
            b.addCerts(der(cert));
        }
        for (X509Certificate cert : a.cacerts()) {
            b.addCacerts(der(cert));
        }
        for (java.security.cert.X509CRL crl : a.crls()) {
            try {
                b.addCrls(ByteString.copyFrom(crl.getEncoded()));
            } catch (java.security.cert.CRLException e) {
                throw new IllegalStateException("a CRL read at load has no DER encoding", e);
            }
        }
        return b.setRsaPss(a.rsaPss()).build();
    }

    private static ByteString der(X509Certificate cert) {
        try {
            return ByteString.copyFrom(cert.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("a certificate read at load has no DER encoding", e);
        }
    }

    static Child child(ChildConfig c) {
        Child.Builder b = Child.newBuilder()
                .setName(c.name())
                .setMode(CoreMapping.mode(c.mode()))
                .setRekeyTimeSeconds(c.lifetime().millis().rekey() / 1000)
                .setLifeTimeSeconds(c.lifetime().millis().life() / 1000)
                .setRandTimeSeconds(c.lifetime().millis().rand() / 1000)
                .setRekeyBytes(c.lifetime().bytes().rekey())
                .setLifeBytes(c.lifetime().bytes().life())
                .setRandBytes(c.lifetime().bytes().rand())
                .setRekeyPackets(c.lifetime().packets().rekey())
                .setLifePackets(c.lifetime().packets().life())
                .setRandPackets(c.lifetime().packets().rand())
                .setReplayWindow(c.replayWindow())
                .setStartAction(switch (c.startAction()) {
                    case NONE -> StartAction.START_ACTION_NONE;
                    case TRAP -> StartAction.START_ACTION_TRAP;
                    case START -> StartAction.START_ACTION_START;
                })
                .setDpdAction(switch (c.dpdAction()) {
                    case CLEAR -> DpdAction.DPD_ACTION_CLEAR;
                    case TRAP -> DpdAction.DPD_ACTION_TRAP;
                    case RESTART -> DpdAction.DPD_ACTION_RESTART;
                })
                .setCloseAction(switch (c.closeAction()) {
                    case NONE -> CloseAction.CLOSE_ACTION_NONE;
                    case TRAP -> CloseAction.CLOSE_ACTION_TRAP;
                    case START -> CloseAction.CLOSE_ACTION_START;
                })
                .setPriority(c.priority());
        for (var ts : c.localTs()) {
            b.addLocalTs(CoreMapping.selector(ts)).addLocalTsText(ts.toString());
        }
        for (var ts : c.remoteTs()) {
            b.addRemoteTs(CoreMapping.selector(ts)).addRemoteTsText(ts.toString());
        }
        for (Proposal p : c.espProposals()) {
            if (p.protocol() == dev.keel.core.proposal.Protocol.AH) {
                b.addAhProposals(p.toString());
            } else {
                b.addEspProposals(p.toString());
            }
        }
        return b.build();
    }

    static dev.keel.proto.v1.SpdEntry spdEntry(int order, CompiledPolicy p) {
        return CoreMapping.spdEntry(p.entry()).setOrder(order).setPriority(p.priority()).build();
    }

    static List<dev.keel.proto.v1.SpdEntry> spd(List<CompiledPolicy> compiled) {
        List<dev.keel.proto.v1.SpdEntry> out = new java.util.ArrayList<>(compiled.size());
        for (int i = 0; i < compiled.size(); i++) {
            out.add(spdEntry(i, compiled.get(i)));
        }
        return out;
    }

    static PolicyEvent snapshot(long epoch, long revision, PolicyConfig config) {
        PolicySnapshot.Builder s = PolicySnapshot.newBuilder().addAllSpd(spd(config.compiled()));
        for (ConnectionConfig c : config.connections().values()) {
            s.addConnections(connection(c));
        }
        return PolicyEvent.newBuilder().setEpoch(epoch).setRevision(revision).setSnapshot(s).build();
    }

    static PolicyEvent delta(long epoch, ConfigDelta d) {
        PolicyDelta.Builder b = PolicyDelta.newBuilder()
                .addAllRemovedConnections(d.removedConnections())
                .setSpdChanged(d.spdChanged())
                .addAllSpd(spd(d.spd()));
        for (ConnectionConfig c : d.upsertedConnections()) {
            b.addUpsertedConnections(connection(c));
        }
        return PolicyEvent.newBuilder().setEpoch(epoch).setRevision(d.revision()).setDelta(b).build();
    }

    static dev.keel.proto.v1.ConfigProblem problem(ConfigProblem p) {
        return dev.keel.proto.v1.ConfigProblem.newBuilder()
                .setFile(p.file())
                .setPath(p.path())
                .setLine(p.line())
                .setColumn(p.column())
                .setMessage(p.message())
                .build();
    }
}
