package dev.keel.policy.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.ChildLifetime;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelectors;
import dev.keel.policy.config.ChildConfig;
import dev.keel.policy.config.CloseAction;
import dev.keel.policy.config.DpdAction;
import dev.keel.policy.config.StartAction;
import dev.keel.proto.v1.Child;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** An AH child's proposals travel as {@code keel.v1.Child.ah_proposals}, never as ESP ones. */
class AhProtoMapperTest {

    @Test
    void ahProposalsGoToTheirOwnField() throws Exception {
        ChildConfig c = new ChildConfig("net", TrafficSelectors.parseList("10.1.0.0/16"),
                TrafficSelectors.parseList("10.2.0.0/16"), Proposal.parseList(Protocol.AH, "sha256-modp2048, sha512"),
                IpsecMode.TUNNEL, ChildLifetime.ofTime(Duration.ofHours(1), Duration.ofMinutes(66)), StartAction.NONE,
                DpdAction.CLEAR, CloseAction.NONE, 128, 0);
        Child proto = ProtoMapper.child(c);
        assertThat(proto.getAhProposalsList()).containsExactly("sha256-modp2048", "sha512");
        assertThat(proto.getEspProposalsList()).isEmpty();
    }
}
