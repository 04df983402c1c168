package dev.keel.ike.message;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Seeded mutations of valid messages and random garbage: decode never throws and returns one outcome. */
class HostileInputTest {
    private static final long SEED = 0x4b65656cL;
    private static final int MUTATIONS = 12_000;

    @Test
    void mutatedMessagesAlwaysDecodeToAnOutcome() throws Exception {
        List<byte[]> seeds = List.of(
                SampleMessages.ikeSaInitRequest().bytes(),
                StrongSwanFixtureTest.fixture("strongswan-5.9.8-ike-sa-init-request.hex"),
                StrongSwanFixtureTest.fixture("strongswan-5.9.8-ike-sa-init-response.hex"),
                SampleMessages.ikeAuthProtected(TestGcmSkCipher.fixed()).bytes(),
                // an IKE_AUTH-shaped payload list in clear under IKE_SA_INIT, so its payloads get parsed
                IkeMessage.encode(IkeHeader.of(1, 2, ExchangeType.IKE_SA_INIT, true, false, 0),
                        SampleMessages.ikeAuthPayloads()).bytes(),
                IkeMessage.encode(IkeHeader.of(1, 2, ExchangeType.IKE_SA_INIT, true, false, 0),
                        SampleMessages.informationalPayloads()).bytes());
        // mutated inner payloads sealed under a valid ICV reach the decoder behind the cipher
        byte[] innerChain = IkeMessage.encodeChain(SampleMessages.ikeAuthPayloads());
        SplittableRandom random = new SplittableRandom(SEED);
        Map<String, Integer> kinds = new HashMap<>();
        long deadline = System.nanoTime() + 60_000_000_000L;
        int done = 0;
        for (; done < MUTATIONS && System.nanoTime() < deadline; done++) {
            byte[] message = random.nextInt(3) == 0
                    ? sealed(random.nextBoolean() ? 35 : random.nextInt(256), mutate(innerChain, random))
                    : mutate(seeds.get(random.nextInt(seeds.size())), random);
            // a fresh cipher each time: the test cipher is deterministic, so protected seeds can still verify
            IkeDecodeResult r = IkeMessage.decode(message, TestGcmSkCipher.fixed());
            kinds.merge(kind(r), 1, Integer::sum);
            if (r instanceof IkeDecodeResult.Ok ok && !ok.message().isProtected()) {
                // whatever decode accepts, encode writes back, and decode reads the same payloads again
                IkeMessage again = IkeMessage.encode(ok.message().header(), ok.message().payloads());
                IkeDecodeResult second = IkeMessage.decode(again.bytes(), null);
                assertThat(second).isInstanceOf(IkeDecodeResult.Ok.class);
                assertThat(IkeMessage.encodeChain(((IkeDecodeResult.Ok) second).message().payloads()))
                        .isEqualTo(IkeMessage.encodeChain(ok.message().payloads()));
            }
        }
        assertThat(done).isEqualTo(MUTATIONS);
        // the mutations reach deep: every outcome kind but fragments shows up
        assertThat(kinds.keySet()).contains("Ok", "UnprotectedError", "ProtectedError");
    }

    @Test
    void randomGarbageIsDropped() {
        SplittableRandom random = new SplittableRandom(SEED + 1);
        Map<IkeDecodeResult.Reason, Integer> reasons = new EnumMap<>(IkeDecodeResult.Reason.class);
        for (int i = 0; i < 5_000; i++) {
            byte[] garbage = new byte[random.nextInt(0, 400)];
            random.nextBytes(garbage);
            if (random.nextBoolean() && garbage.length >= 28) {
                garbage[17] = 0x20; // IKEv2, so the payload walk is reached
                garbage[24] = 0;
                garbage[25] = 0;
                garbage[26] = (byte) (garbage.length >>> 8);
                garbage[27] = (byte) garbage.length;
            }
            IkeDecodeResult r = IkeMessage.decode(garbage, random.nextBoolean() ? null : TestGcmSkCipher.fixed());
            assertThat(r).isNotNull();
            if (r instanceof IkeDecodeResult.UnprotectedError e) {
                reasons.merge(e.reason(), 1, Integer::sum);
            }
        }
        assertThat(reasons).containsKeys(IkeDecodeResult.Reason.TRUNCATED, IkeDecodeResult.Reason.BAD_LENGTH);
    }

    /** An IKE_AUTH message whose SK payload seals {@code plaintext} as is. */
    private static byte[] sealed(int firstInner, byte[] plaintext) {
        TestGcmSkCipher cipher = TestGcmSkCipher.fixed();
        int skLength = 4 + cipher.sealedLength(plaintext.length);
        byte[] m = new byte[IkeHeader.LENGTH + skLength];
        byte[] header = IkeMessage.encode(IkeHeader.of(1, 2, ExchangeType.IKE_AUTH, true, false, 1), List.of()).bytes();
        System.arraycopy(header, 0, m, 0, IkeHeader.LENGTH);
        m[16] = 46;
        m[26] = (byte) (m.length >>> 8);
        m[27] = (byte) m.length;
        m[28] = (byte) firstInner;
        m[30] = (byte) (skLength >>> 8);
        m[31] = (byte) skLength;
        cipher.seal(m, 32, plaintext);
        return m;
    }

    private static String kind(IkeDecodeResult r) {
        return switch (r) {
            case IkeDecodeResult.Ok ok -> "Ok";
            case IkeDecodeResult.Fragment f -> "Fragment";
            case IkeDecodeResult.ProtectedError e -> "ProtectedError";
            case IkeDecodeResult.UnprotectedError e -> "UnprotectedError";
        };
    }

    /** One to three of: truncate, flip bits, extend, rewrite a 16-bit length field, fix the header length. */
    static byte[] mutate(byte[] original, SplittableRandom random) {
        byte[] m = original.clone();
        int steps = 1 + random.nextInt(3);
        for (int s = 0; s < steps; s++) {
            switch (random.nextInt(5)) {
                case 0 -> m = Arrays.copyOf(m, random.nextInt(m.length + 1));
                case 1 -> {
                    if (m.length > 0) {
                        m[random.nextInt(m.length)] ^= (byte) (1 << random.nextInt(8));
                    }
                }
                case 2 -> {
                    int extra = 1 + random.nextInt(64);
                    byte[] longer = Arrays.copyOf(m, m.length + extra);
                    for (int i = m.length; i < longer.length; i++) {
                        longer[i] = (byte) random.nextInt(256);
                    }
                    m = longer;
                }
                case 3 -> {
                    if (m.length > 2) {
                        int at = random.nextInt(m.length - 1);
                        int v = switch (random.nextInt(4)) {
                            case 0 -> 0;
                            case 1 -> random.nextInt(8);
                            case 2 -> 0xFFFF;
                            default -> random.nextInt(0x10000);
                        };
                        m[at] = (byte) (v >>> 8);
                        m[at + 1] = (byte) v;
                    }
                }
                default -> { }
            }
            // mostly keep the header length consistent, so mutations reach the payloads
            if (m.length >= 28 && random.nextInt(4) != 0) {
                m[24] = 0;
                m[25] = 0;
                m[26] = (byte) (m.length >>> 8);
                m[27] = (byte) m.length;
            }
        }
        return m;
    }
}
