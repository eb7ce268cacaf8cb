package org.moe4j.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;

class SamplerTest {
    /** Probabilities 0.1, 0.4, 0.2, 0.3 at temperature 1: most likely first is 1, 3, 2, 0. */
    private static final float[] LOGITS = logits(0.1, 0.4, 0.2, 0.3);

    private static float[] logits(double... p) {
        float[] l = new float[p.length];
        for (int i = 0; i < p.length; i++) l[i] = (float) Math.log(p[i]);
        return l;
    }

    private static int[] kept(float[] logits, SamplingParams p) {
        return Sampler.distribution(logits, 0, logits.length, p).ids();
    }

    private static final SamplingParams T1 = SamplingParams.of(1, 0);

    @Test
    void parametersAreValidatedNamingTheParameter() {
        Object[][] bad = {{Double.NaN, 0, 1.0, 0.0, "temperature"}, {-0.5, 0, 1.0, 0.0, "temperature"},
                {Double.POSITIVE_INFINITY, 0, 1.0, 0.0, "temperature"}, {1.0, -1, 1.0, 0.0, "top_k"},
                {1.0, 0, 0.0, 0.0, "top_p"}, {1.0, 0, 1.5, 0.0, "top_p"}, {1.0, 0, Double.NaN, 0.0, "top_p"},
                {1.0, 0, 1.0, -0.1, "min_p"}, {1.0, 0, 1.0, 1.1, "min_p"}, {1.0, 0, 1.0, Double.NaN, "min_p"}};
        for (Object[] b : bad) {
            InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> new SamplingParams(
                    (double) b[0], (int) b[1], (double) b[2], (double) b[3], 0));
            assertEquals(b[4], e.parameter(), e.getMessage());
            assertTrue(e.getMessage().startsWith(b[4] + ": must be"), e.getMessage());
        }
    }

    @Test
    void greedyTakesTheLargestLogitAndTheLowestIdAmongEquals() {
        float[] l = {1, 3, 3, 2};
        assertEquals(1, Sampler.argmax(l, 0, 4));
        assertEquals(2, Sampler.argmax(new float[] {9, 1, 2, 3, 3}, 1, 4), "ids count from the offset");
        assertEquals(1, new Sampler(SamplingParams.GREEDY.withTopK(1).withSeed(5)).sample(l, 0, 4));
        float[] nan = {1, Float.NaN, 0};
        Moe4jException e = assertThrows(Moe4jException.class, () -> Sampler.argmax(nan, 0, 3));
        assertTrue(e.getMessage().contains("token 1 is NaN"), e.getMessage());
        assertThrows(Moe4jException.class, () -> new Sampler(T1).sample(nan, 0, 3));
    }

    @Test
    void filtersKeepExactlyTheRightSets() {
        assertArrayEquals(new int[] {1, 3, 2, 0}, kept(LOGITS, T1), "no filter: all, most likely first");
        assertArrayEquals(new int[] {1, 3}, kept(LOGITS, T1.withTopK(2)));
        assertArrayEquals(new int[] {1}, kept(LOGITS, T1.withTopK(1)));
        assertArrayEquals(new int[] {1, 3, 2, 0}, kept(LOGITS, T1.withTopK(9)));
        assertArrayEquals(new int[] {1}, kept(LOGITS, T1.withTopP(0.3)));
        assertArrayEquals(new int[] {1, 3}, kept(LOGITS, T1.withTopP(0.65)));
        assertArrayEquals(new int[] {1, 3, 2}, kept(LOGITS, T1.withTopP(0.75)));
        // top-p counts mass renormalised over the top-k: 0.4/0.9 + 0.3/0.9 = 0.78 >= 0.75
        assertArrayEquals(new int[] {1, 3}, kept(LOGITS, T1.withTopK(3).withTopP(0.75)));
        assertArrayEquals(new int[] {1, 3, 2}, kept(LOGITS, T1.withMinP(0.45)), "p >= 0.18");
        assertArrayEquals(new int[] {1, 3}, kept(LOGITS, T1.withMinP(0.6)), "p >= 0.24");
        assertArrayEquals(new int[] {1}, kept(LOGITS, T1.withMinP(1)));
        // ties: the lower id first, so top-1 of two equal logits is the lower id
        assertArrayEquals(new int[] {1}, kept(new float[] {0, 5, 3, 5}, T1.withTopK(1)));
        assertArrayEquals(new int[] {1, 3}, kept(new float[] {0, 5, 3, 5}, T1.withTopK(2)));
        // a masked token is never kept
        assertArrayEquals(new int[] {2, 0}, kept(new float[] {1, Float.NEGATIVE_INFINITY, 2}, T1));
        assertThrows(Moe4jException.class, () -> kept(new float[] {Float.NEGATIVE_INFINITY}, T1));
    }

    @Test
    void temperatureSharpensOrFlattensAndProbabilitiesSumToOne() {
        double[] p = Sampler.distribution(LOGITS, 0, 4, SamplingParams.of(2, 0)).probs();
        double z = Math.sqrt(0.4) + Math.sqrt(0.3) + Math.sqrt(0.2) + Math.sqrt(0.1);
        double[] expected = {Math.sqrt(0.4) / z, Math.sqrt(0.3) / z, Math.sqrt(0.2) / z, Math.sqrt(0.1) / z};
        assertArrayEquals(expected, p, 1e-6);
        double[] cold = Sampler.distribution(LOGITS, 0, 4, SamplingParams.of(0.25, 0)).probs();
        assertTrue(cold[0] > 0.7, Arrays.toString(cold));
        assertEquals(1, Arrays.stream(cold).sum(), 1e-12);
    }

    /** Frequencies of 20,000 seeded draws against the renormalised top-3 distribution: chi-square, 2 degrees. */
    @Test
    void sampledFrequenciesMatchTheRenormalisedDistribution() {
        SamplingParams params = T1.withTopK(3).withSeed(7);
        Sampler sampler = new Sampler(params);
        int n = 20_000;
        int[] counts = new int[4];
        for (int i = 0; i < n; i++) counts[sampler.sample(LOGITS, 0, 4)]++;
        assertEquals(0, counts[0], "token 0 is outside the top 3");
        double[] expected = {0, 0.4 / 0.9, 0.2 / 0.9, 0.3 / 0.9};
        double chi2 = 0;
        for (int t = 1; t < 4; t++) chi2 += Math.pow(counts[t] - n * expected[t], 2) / (n * expected[t]);
        assertTrue(chi2 < 13.8, "chi-square " + chi2 + " beyond the 0.1% tail, counts " + Arrays.toString(counts));
    }

    @Test
    void theSameSeedGivesTheSameTokens() {
        float[] flat = new float[50]; // uniform: every draw is up to the generator
        int[] a = draws(new Sampler(SamplingParams.of(1, 42)), flat);
        int[] b = draws(new Sampler(SamplingParams.of(1, 42)), flat);
        int[] c = draws(new Sampler(SamplingParams.of(1, 43)), flat);
        assertArrayEquals(a, b);
        assertNotEquals(Arrays.toString(a), Arrays.toString(c));
    }

    private static int[] draws(Sampler s, float[] logits) {
        int[] out = new int[40];
        for (int i = 0; i < out.length; i++) out[i] = s.sample(logits, 0, logits.length);
        return out;
    }
}
