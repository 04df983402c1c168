package dev.keel.esp.feed;

import com.google.protobuf.ByteString;
import dev.keel.esp.packet.Suites;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.IpsecMode;
import dev.keel.proto.v1.IpsecProtocol;
import dev.keel.proto.v1.TrafficSelector;
import dev.keel.proto.v1.WrappedChildKeys;
import dev.keel.sad.keys.KeyWrap;

/** CHILD SA records as sad-service hands them to a worker's feed, for the data plane's tests. */
public final class FedRecords {

    private FedRecords() {
    }

    /** An active AES-128-GCM tunnel SA of connection site-b, child net, to 127.0.0.3:4500, any selectors. */
    public static ChildSaRecord record(String id, int spi, Direction dir, String owner, KeyWrap w) {
        Suites s = Suites.AES128_GCM16;
        Endpoint ep = Endpoint.newBuilder().setAddress(ByteString.copyFrom(new byte[] {127, 0, 0, 3})).setPort(4500)
                .build();
        TrafficSelector any = TrafficSelector.newBuilder().setStartAddress(ByteString.copyFrom(new byte[4]))
                .setEndAddress(ByteString.copyFrom(new byte[] {-1, -1, -1, -1})).setEndPort(65535).build();
        return ChildSaRecord.newBuilder().setId(id).setConnection("site-b").setChild("net").setSpi(spi)
                .setDirection(dir).setProtocol(IpsecProtocol.IPSEC_PROTOCOL_ESP).setMode(IpsecMode.IPSEC_MODE_TUNNEL)
                .setLocal(ep).setPeer(ep).setEncryptionTransform(s.encryption.id()).setEncryptionKeyLength(20)
                .setReplayWindow(dir == Direction.DIRECTION_INBOUND ? 64 : 0).addLocalTs(any).addRemoteTs(any)
                .setKeys(WrappedChildKeys.newBuilder().setEncryption(ByteString.copyFrom(w.wrap(s.encryptionKey(spi))))
                        .setKekId(w.kekId()))
                .setOwnerNodeId(owner).setState(ChildSaState.CHILD_SA_STATE_ACTIVE).setCreatedAtMs(1).build();
    }
}
