package dev.keel.docker;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListChildSasResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeUnit;

/**
 * {@code keel-sas TARGET}: the CHILD SAs in the SAD as the node's admin API (keel.v1.SaService at
 * TARGET, see {@link AdminChannels}) lists them, one line each, without keys:
 * {@code connection child direction spi(hex) state owner=node epoch=n}. Exits 1 when the API does
 * not answer within 20 s (a loaded machine starts a JVM slowly). The container tests read a gateway's state through it.
 */
public final class ChildSaList {

    private ChildSaList() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: keel-sas TARGET   (TARGET: unix:/path or host:port)");
            System.exit(2);
        }
        ManagedChannel channel = AdminChannels.open(args[0], System.getenv());
        int exit = 0;
        try {
            SaServiceGrpc.SaServiceBlockingStub sad = SaServiceGrpc.newBlockingStub(channel);
            String token = "";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            do { // pages are bounded by the SAD's size; the deadline bounds the whole listing
                ListChildSasResponse page = sad.withDeadlineAfter(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)
                        .listChildSas(ListChildSasRequest.newBuilder().setPageSize(1000).setPageToken(token).build());
                for (ChildSaRecord sa : page.getChildSasList()) {
                    System.out.printf("%s %s %s %08x %s owner=%s epoch=%d%n", sa.getConnection(), sa.getChild(),
                            sa.getDirection().name().replace("DIRECTION_", ""), sa.getSpi(),
                            sa.getState().name().replace("CHILD_SA_STATE_", ""), sa.getOwnerNodeId(), sa.getOwnerEpoch());
                }
                token = page.getNextPageToken();
            } while (!token.isEmpty());
        } catch (StatusRuntimeException e) {
            System.err.println("keel-sas " + args[0] + ": " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null ? "" : " " + e.getStatus().getDescription()));
            exit = 1;
        } finally {
            channel.shutdownNow();
        }
        System.exit(exit);
    }
}
