package dev.keel.sad.bench;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.IkeSaChild;
import dev.keel.proto.v1.IkeSaKeys;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.InstallIkeSaRequest;
import dev.keel.proto.v1.InstallIkeSaResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.ManagedChannel;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What IKE SA failover costs sad-service (docs/ha.md, "IKE SA failover"): InstallIkeSa upserts
 * over gRPC as the IKE service sends them, the first of an IKE SA with its seven keys (wrapped
 * here), every later one after an exchange without them; records shaped like real ones (two
 * CHILD SAs, a 200-byte cached response). Prints writes/s, CPU per write (whole process: both
 * members, client, server) and latency percentiles. {@code sad-service/bench.sh --only ike}.
 */
final class IkeUpsertPhase {

    private IkeUpsertPhase() {
    }

    static boolean requested(String[] args) {
        List<String> a = Arrays.asList(args);
        int i = a.indexOf("--only");
        return i >= 0 && i + 1 < a.size() && a.get(i + 1).equals("ike");
    }

    static void run(ManagedChannel ch, int sas, int inFlight) throws Exception {
        SaServiceGrpc.SaServiceFutureStub s = SaServiceGrpc.newFutureStub(ch);
        SecureRandom random = new SecureRandom();
        List<IkeSaRecord> records = new ArrayList<>(sas);
        for (int i = 0; i < sas; i++) {
            records.add(record(i, random));
        }
        for (int round = 0; round < 2; round++) { // warm-up: a round of first writes and one of later writes
            phase(s, "warm-up first writes", records, 0, true, inFlight, false);
            phase(s, "warm-up later writes", records, 1, false, inFlight, false);
            records.replaceAll(r -> r.toBuilder().setId(r.getId() + "w").build());
        }
        phase(s, "first write of an IKE SA (7 keys wrapped)", records, 0, true, inFlight, true);
        for (int exchange = 1; exchange <= 3; exchange++) {
            phase(s, "write after exchange " + exchange + " (no keys)", records, exchange, false, inFlight, true);
        }
    }

    private static IkeSaRecord record(int i, SecureRandom random) {
        byte[] response = new byte[200];
        random.nextBytes(response);
        IkeSaRecord.Builder b = IkeSaRecord.newBuilder().setId(String.format("ike-bench-%08d", i)).setConnection("site")
                .setInitiatorSpi(random.nextLong() | 1).setResponderSpi(random.nextLong() | 1).setInitiator(i % 2 == 0)
                .setLocal(endpoint(192, 0, 2, 1, 4500)).setPeer(endpoint(198, 51, 100, i % 250, 4500))
                .setEncryptionTransform(20).setEncryptionKeyLength(32).setPrfTransform(5).setKeyExchangeTransform(31)
                .setNextRequestMessageId(2).setNextExpectedMessageId(2).setLastResponse(ByteString.copyFrom(response))
                .setLastResponseMessageId(1).setPeerMessageIdSync(true);
        for (int c = 0; c < 2; c++) {
            b.addChildren(IkeSaChild.newBuilder().setName("net" + c).setInboundSaId("child-bench-" + i + "-" + c + "-in")
                    .setOutboundSaId("child-bench-" + i + "-" + c + "-out").setRekeyAtMs(System.currentTimeMillis() + 3_600_000)
                    .setExpireAtMs(System.currentTimeMillis() + 3_960_000));
        }
        return b.build();
    }

    private static Endpoint endpoint(int a, int b, int c, int d, int port) {
        return Endpoint.newBuilder().setAddress(ByteString.copyFrom(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d}))
                .setPort(port).build();
    }

    private static IkeSaKeys keys(SecureRandom random) {
        IkeSaKeys.Builder k = IkeSaKeys.newBuilder();
        byte[] d = new byte[32];
        random.nextBytes(d);
        return k.setSkD(ByteString.copyFrom(d)).setSkEi(ByteString.copyFrom(d)).setSkEr(ByteString.copyFrom(d))
                .setSkPi(ByteString.copyFrom(d)).setSkPr(ByteString.copyFrom(d)).build();
    }

    private static void phase(SaServiceGrpc.SaServiceFutureStub s, String what, List<IkeSaRecord> records, int exchange,
            boolean withKeys, int inFlight, boolean print) throws Exception {
        SecureRandom random = new SecureRandom();
        List<InstallIkeSaRequest> reqs = new ArrayList<>(records.size());
        for (IkeSaRecord r : records) {
            InstallIkeSaRequest.Builder b = InstallIkeSaRequest.newBuilder().setIkeSa(r.toBuilder()
                    .setNextRequestMessageId(2 + exchange).setNextExpectedMessageId(2 + exchange)
                    .setLastResponseMessageId(1 + exchange));
            if (withKeys) {
                b.setKeys(keys(random));
            }
            reqs.add(b.build());
        }
        Semaphore window = new Semaphore(inFlight);
        AtomicInteger failed = new AtomicInteger();
        long[] latency = new long[reqs.size()];
        long cpu0 = SadBenchmark.cpuNanos();
        long t0 = System.nanoTime();
        for (int i = 0; i < reqs.size(); i++) {
            window.acquire();
            int at = i;
            long sent = System.nanoTime();
            ListenableFuture<InstallIkeSaResponse> f = s.installIkeSa(reqs.get(i));
            f.addListener(() -> {
                latency[at] = System.nanoTime() - sent;
                try {
                    f.get();
                } catch (Exception e) {
                    failed.incrementAndGet();
                }
                window.release();
            }, Runnable::run);
        }
        window.acquire(inFlight);
        double secs = (System.nanoTime() - t0) / 1e9;
        double cpuUs = (SadBenchmark.cpuNanos() - cpu0) / 1e3 / reqs.size();
        if (print) {
            Arrays.sort(latency);
            System.out.printf("InstallIkeSa, %s: %d IKE SAs, %d in flight: %.0f writes/s (%d failed); CPU %.0f us per "
                    + "write; latency p50 %.0f us, p99 %.0f us (%s)%n", what, reqs.size(), inFlight, reqs.size() / secs,
                    failed.get(), cpuUs, latency[latency.length / 2] / 1e3, latency[(int) (latency.length * 0.99)] / 1e3,
                    SadBenchmark.load());
        }
    }
}
