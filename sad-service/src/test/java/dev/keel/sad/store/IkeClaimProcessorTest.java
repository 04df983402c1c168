package dev.keel.sad.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.SadException.Kind;
import java.util.AbstractMap.SimpleEntry;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** ClaimOwnership of an IKE SA record, as a pure function on a map entry. */
class IkeClaimProcessorTest {

    private static Map.Entry<String, byte[]> ike(String node, String member) {
        return new SimpleEntry<>("ike", TestTags.sealed(IkeSaRecord.newBuilder().setId("ike").setConnection("c")
                .setInitiatorSpi(1).setResponderSpi(2).setOwnerNodeId(node).setOwnerMember(member).setOwnerEpoch(4)
                .setGeneration(7).setNextRequestMessageId(3).build()));
    }

    @Test
    void aLiveOwnerLosesItOnlyWhenNamed() {
        Map.Entry<String, byte[]> e = ike("n1", "u1");
        byte[] before = e.getValue();
        IkeClaimProcessor unnamed = new IkeClaimProcessor("n2", "u2", "", Set.of("u1", "u2"), 9);
        assertThat(unnamed.process(e).refusal()).isEqualTo(Kind.FAILED_PRECONDITION);
        assertThat(new IkeClaimProcessor("n2", "u2", "n3", Set.of("u1", "u2"), 9).process(e).refusal())
                .isEqualTo(Kind.FAILED_PRECONDITION);
        assertThat(e.getValue()).isSameAs(before);
        assertThat(unnamed.getBackupProcessor()).as("nothing written, no backup").isNull();

        IkeClaimProcessor named = new IkeClaimProcessor("n2", "u2", "n1", Set.of("u1", "u2"), 9);
        IkeSaRecord r = Records.parseIke(named.process(e).orThrow());
        assertThat(r.getOwnerNodeId()).isEqualTo("n2");
        assertThat(r.getOwnerMember()).isEqualTo("u2");
        assertThat(r.getOwnerEpoch()).isEqualTo(5);
        assertThat(r.getOwnerReason()).isEqualTo(OwnershipReason.OWNERSHIP_REASON_CLAIM);
        assertThat(r.getGeneration()).isEqualTo(8);
        assertThat(r.getNextRequestMessageId()).isEqualTo(3);
        assertThat(named.getBackupProcessor()).as("the backup gets the bytes written").isNotNull();
        dev.keel.sad.keys.RecordMac.verify(dev.keel.sad.keys.RecordMac.Scope.IKE_SA, "ike", e.getValue());
    }

    @Test
    void aDepartedOwnersRecordIsTakenOverAndTheOwnersOwnClaimChangesNothing() {
        Map.Entry<String, byte[]> e = ike("n1", "gone");
        IkeSaRecord r = Records.parseIke(new IkeClaimProcessor("n2", "u2", "", Set.of("u2"), 9).process(e).orThrow());
        assertThat(r.getOwnerReason()).isEqualTo(OwnershipReason.OWNERSHIP_REASON_TAKEOVER);
        byte[] now = e.getValue();
        IkeClaimProcessor again = new IkeClaimProcessor("n2", "u2", "n1", Set.of("u2"), 10);
        assertThat(again.process(e).refusal()).isNull();
        assertThat(e.getValue()).isSameAs(now);
        assertThat(again.getBackupProcessor()).isNull();
    }
}
