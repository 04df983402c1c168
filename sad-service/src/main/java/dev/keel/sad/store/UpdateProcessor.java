package dev.keel.sad.store;

import com.google.protobuf.InvalidProtocolBufferException;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.UpdateChildSaRequest;
import dev.keel.sad.SadException.Kind;
import java.io.IOException;
import java.util.Map;

/** Applies a validated UpdateChildSaRequest: endpoints, lifetimes, rekey state. */
public final class UpdateProcessor extends RecordProcessor {

    private byte[] request;
    private long nowMs;

    UpdateProcessor() {} // for Hazelcast

    public UpdateProcessor(UpdateChildSaRequest request, long nowMs) {
        this.request = request.toByteArray();
        this.nowMs = nowMs;
    }

    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        ChildSaRecord r = liveChild(entry);
        UpdateChildSaRequest req;
        try {
            req = UpdateChildSaRequest.parseFrom(request);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
        if (req.getExpectedGeneration() != 0 && req.getExpectedGeneration() != r.getGeneration()) {
            return OpResult.refuse(Kind.FAILED_PRECONDITION, "child SA " + r.getId() + " is at generation "
                    + r.getGeneration() + ", not expected_generation " + req.getExpectedGeneration());
        }
        ChildSaRecord.Builder b = r.toBuilder();
        if (req.hasLocal()) {
            b.setLocal(req.getLocal());
        }
        if (req.hasPeer()) {
            b.setPeer(req.getPeer());
        }
        if (req.hasLifetime()) {
            b.setLifetime(req.getLifetime());
        }
        if (req.hasState() && req.getState() != r.getState()) {
            if (r.getState() == ChildSaState.CHILD_SA_STATE_EXPIRED) {
                return OpResult.refuse(Kind.FAILED_PRECONDITION,
                        "child SA " + r.getId() + " is expired; its state cannot change");
            }
            if (r.getState() == ChildSaState.CHILD_SA_STATE_REKEYED) {
                return OpResult.refuse(Kind.FAILED_PRECONDITION, "state: child SA " + r.getId()
                        + " is REKEYED and cannot go back to " + req.getState().name());
            }
            b.setState(req.getState());
        }
        ChildSaRecord u = b.build();
        if (u.equals(r)) {
            return OpResult.ok(entry.getValue());
        }
        u = Records.applyLifetimes(u.toBuilder().setGeneration(r.getGeneration() + 1).setUpdatedAtMs(nowMs).build(),
                nowMs);
        return OpResult.ok(write(entry, u));
    }

    @Override
    public int getClassId() {
        return SadSerialization.UPDATE;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
        out.writeByteArray(request);
        out.writeLong(nowMs);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
        request = in.readByteArray();
        nowMs = in.readLong();
    }
}
