package dev.keel.sad.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.config.Config;
import com.hazelcast.internal.serialization.Data;
import com.hazelcast.internal.serialization.InternalSerializationService;
import com.hazelcast.internal.serialization.impl.DefaultSerializationServiceBuilder;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.UpdateChildSaRequest;
import dev.keel.sad.SadException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Every processor and answer that crosses members arrives with every field it was sent with, in
 * Keel's own format rather than Java serialization (which cost a sixth of a member's CPU at setup
 * load): a field left out of writeData or readData fails here, not in a two-member cluster.
 */
class ProcessorSerializationTest {

    private final InternalSerializationService serialization = serialization();

    private static InternalSerializationService serialization() {
        Config config = new Config();
        SadSerialization.register(config); // as every member does
        return new DefaultSerializationServiceBuilder().setConfig(config.getSerializationConfig()).build();
    }

    @Test
    void everyProcessorCrossesWithAllItsFields() throws Exception {
        List<Object> sent = List.of(
                new UpdateProcessor(UpdateChildSaRequest.newBuilder().setId("sa-1").build(), 1_234L),
                new DeleteProcessor(5_678L, 0x0a0b0c0d),
                new LeaseProcessor("node-a", 4096),
                new CheckpointProcessor("node-a", 1L << 40, 8192),
                new UsageProcessor("node-a", 10_000L, 7L, 9_999L),
                new IkeUpsertProcessor(IkeSaRecord.newBuilder().setId("ike-1").setOwnerNodeId("node-a").build(),
                        42L, 7),
                new ClaimProcessor("node-b", "uuid-b", "node-a", Set.of("uuid-a", "uuid-b"), 77L),
                new IkeClaimProcessor("node-b", "uuid-b", "", Set.of("uuid-b"), 78L),
                SpiBindProcessor.reserve(3600),
                SpiBindProcessor.retire("sa-4", 610),
                SpiBindProcessor.release("sa-2"),
                new SpiBindProcessor("sa-3"),
                new InsertProcessor(new byte[] {1, 2, 3}),
                new SadSerialization.SetOne<>(new byte[] {4, 5}, 3600));
        for (Object p : sent) {
            assertThat(p).isInstanceOf(IdentifiedDataSerializable.class);
            Object received = serialization.toObject(serialization.toData(p));
            assertThat(received).as(p.getClass().getSimpleName()).isExactlyInstanceOf(p.getClass());
            assertThat(fields(received)).as(p.getClass().getSimpleName() + "'s fields").isEqualTo(fields(p));
        }
    }

    @Test
    void answersCrossWithoutJavaSerialization() {
        for (OpResult r : List.of(OpResult.ok(new byte[] {9, 8, 7}, 1, -2, Long.MAX_VALUE), OpResult.ok(null),
                OpResult.refuse(SadException.Kind.FAILED_PRECONDITION, "child SA x is deleted"))) {
            Data data = serialization.toData(r);
            assertThat(data.getType()).as("OpResult's own serializer").isEqualTo(SadSerialization.OP_RESULT_TYPE);
            OpResult back = serialization.toObject(data);
            assertThat(back.refusal()).isEqualTo(r.refusal());
            assertThat(back.message()).isEqualTo(r.message());
            assertThat(back.record()).isEqualTo(r.record());
            assertThat(List.of(back.a(), back.b(), back.c())).isEqualTo(List.of(r.a(), r.b(), r.c()));
        }
    }

    /** Every instance field that is sent (not static, not transient), up the class hierarchy, as comparable values. */
    private static List<Object> fields(Object o) throws IllegalAccessException {
        List<Object> values = new ArrayList<>();
        for (Class<?> c = o.getClass(); c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) || Modifier.isTransient(f.getModifiers())) {
                    continue;
                }
                f.setAccessible(true);
                Object v = f.get(o);
                values.add(c.getSimpleName() + "." + f.getName() + "="
                        + switch (v) {
                            case byte[] b -> HexFormat.of().formatHex(b);
                            case Set<?> set -> new TreeSet<>(set).toString();
                            case null, default -> String.valueOf(v);
                        });
            }
        }
        return values;
    }
}
