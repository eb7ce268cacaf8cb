package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.IntTensor;

class TokenHashTest {
    /** Pearson's statistic of the experts' loads against a uniform spread. */
    private static double chiSquare(TokenHash hash, int ids, int stride) {
        long[] load = new long[hash.experts()];
        for (int i = 0; i < ids; i++) load[hash.expertOf(i * stride)]++;
        double expected = (double) ids / hash.experts();
        double chi = 0;
        for (long l : load) chi += (l - expected) * (l - expected) / expected;
        return chi;
    }

    @Test
    void idsSpreadUniformlyOverTheExperts() {
        // With df = experts - 1, a uniform spread gives chi-square about df +- sqrt(2 df); 6 standard deviations is a
        // bound a sound hash misses with probability far below 1e-6, and id % experts on strided ids breaks badly.
        for (int experts : new int[] {2, 7, 16, 64, 100}) {
            for (int stride : new int[] {1, 64, 1024}) {
                TokenHash hash = new TokenHash(42, experts);
                int df = experts - 1;
                double chi = chiSquare(hash, 100_000, stride);
                assertTrue(chi < df + 6 * Math.sqrt(2.0 * df),
                        "experts=" + experts + " stride=" + stride + ": chi-square " + chi + " for df " + df);
            }
        }
    }

    @Test
    void theSameIdAlwaysGetsTheSameExpertWhateverTheBatch() {
        TokenHash hash = new TokenHash(7, 12);
        TokenHash again = new TokenHash(7, 12);
        Rng rng = new Rng(31);
        int[] batch = new int[500];
        for (int i = 0; i < batch.length; i++) batch[i] = rng.nextInt(50_000);
        int[] experts = hash.expertsOf(batch);
        for (int i = 0; i < batch.length; i++) {
            assertEquals(hash.expertOf(batch[i]), experts[i]);
            assertEquals(again.expertOf(batch[i]), experts[i]);
            assertTrue(experts[i] >= 0 && experts[i] < 12);
        }
        int[] alone = hash.expertsOf(new int[] {batch[3]});
        assertEquals(experts[3], alone[0]);
        IntTensor routed = hash.route(new IntTensor(batch, new int[] {25, 20}));
        assertArrayEquals(new int[] {25, 20}, routed.shape());
        assertArrayEquals(experts, routed.data());
    }

    @Test
    void theSeedChangesTheMapping() {
        TokenHash a = new TokenHash(1, 8);
        TokenHash b = new TokenHash(2, 8);
        int same = 0;
        for (int id = 0; id < 10_000; id++) {
            if (a.expertOf(id) == b.expertOf(id)) same++;
        }
        assertTrue(same > 1000 && same < 1500, same + " of 10000 ids agree; two independent maps agree on ~1250");
    }

    @Test
    void theMappingIsPinnedBecauseTrainedModelsDependOnIt() {
        // Computed independently (Python big integers) from the formula in TokenHash's Javadoc.
        int[] ids = {0, 1, 2, 3, 1000, 65_535, Integer.MAX_VALUE};
        assertArrayEquals(new int[] {0, 14, 6, 0, 1, 4, 8}, new TokenHash(0, 16).expertsOf(ids));
        assertArrayEquals(new int[] {0, 1, 9, 0, 6, 7, 1}, new TokenHash(123_456_789L, 10).expertsOf(ids));
    }

    @Test
    void theBalancedVariantEvensOutAZipfianVocabulary() {
        int vocabulary = 2000;
        int experts = 8;
        long[] counts = new long[vocabulary];
        long total = 0;
        for (int id = 0; id < vocabulary; id++) {
            counts[id] = 100_000 / (id + 1); // Zipf: a few ids carry most of the text
            total += counts[id];
        }
        TokenHash balanced = TokenHash.balanced(counts, experts, 5);
        TokenHash hashed = new TokenHash(5, experts);
        long[] balancedLoad = new long[experts];
        long[] hashedLoad = new long[experts];
        for (int id = 0; id < vocabulary; id++) {
            balancedLoad[balanced.expertOf(id)] += counts[id];
            hashedLoad[hashed.expertOf(id)] += counts[id];
        }
        long mean = total / experts;
        long balancedMax = Arrays.stream(balancedLoad).max().orElseThrow();
        long hashedMax = Arrays.stream(hashedLoad).max().orElseThrow();
        assertTrue(balancedMax <= mean + counts[0], "greedy bound: " + balancedMax + " > " + mean + " + " + counts[0]);
        assertTrue(balancedMax < hashedMax, "balanced max load " + balancedMax + " vs hashed " + hashedMax);
        assertEquals(0, balanced.expertOf(0)); // the most frequent id goes first, to expert 0
        assertEquals(hashed.expertOf(vocabulary + 17), balanced.expertOf(vocabulary + 17)); // unknown ids hash
        assertEquals(balanced.expertOf(1234), TokenHash.balanced(counts.clone(), experts, 5).expertOf(1234));
    }

    @Test
    void misuseIsReportedClearly() {
        Moe4jException e = assertThrows(Moe4jException.class, () -> new TokenHash(1, 0));
        assertTrue(e.getMessage().contains("needs at least one expert"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> new TokenHash(1, 4).expertOf(-3));
        assertTrue(e.getMessage().contains("token id -3 is negative"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> TokenHash.balanced(new long[] {3, -1}, 2, 0));
        assertTrue(e.getMessage().contains("count -1 of token 1 is negative"), e.getMessage());
    }
}
