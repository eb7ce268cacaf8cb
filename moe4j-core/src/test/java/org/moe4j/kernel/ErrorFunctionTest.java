package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ErrorFunctionTest {
    /** {x, erf(x), erfc(x)} from mpmath at 30 digits. */
    private static final double[][] KNOWN = {
        {0.001, 0.0011283787909692363799, 0.99887162120903076362},
        {0.1, 0.1124629160182848922, 0.8875370839817151078},
        {0.5, 0.52049987781304653768, 0.47950012218695346232},
        {1, 0.84270079294971486934, 0.15729920705028513066},
        {1.5, 0.96610514647531072707, 0.033894853524689272933},
        {2, 0.99532226501895273416, 0.0046777349810472658379},
        {2.5, 0.99959304798255504106, 0.00040695201744495893956},
        {3, 0.99997790950300141456, 0.000022090496998585441373},
        {4, 0.99999998458274209972, 1.5417257900280018852e-8},
        {6, 0.99999999999999997848, 2.1519736712498913117e-17},
    };

    /** {x, Phi(x)} in the lower tail, where GELU needs relative accuracy. */
    private static final double[][] CDF = {
        {-1, 0.15865525393145705141}, {-3, 0.0013498980316300945267}, {-5, 2.8665157187919391167e-7},
        {-8, 6.2209605742717841235e-16}, {-10, 7.619853024160526066e-24},
    };

    @Test
    void doubleErfMatchesKnownValuesToNearFullPrecision() {
        for (double[] k : KNOWN) {
            assertEquals(k[1], ErrorFunction.erf(k[0]), 4e-16 * k[1], "erf(" + k[0] + ")");
            assertEquals(-k[1], ErrorFunction.erf(-k[0]), 4e-16 * k[1], "erf is odd at " + k[0]);
            assertEquals(k[2], ErrorFunction.erfc(k[0]), 1e-13 * k[2], "erfc(" + k[0] + ")");
            assertEquals(2 - k[2], ErrorFunction.erfc(-k[0]), 1e-15, "erfc(-" + k[0] + ")");
        }
        for (double[] c : CDF) assertEquals(c[1], ErrorFunction.normalCdf(c[0]), 1e-14 * c[1], "Phi(" + c[0] + ")");
        assertEquals(0, ErrorFunction.erf(0));
        assertEquals(1, ErrorFunction.erf(Double.POSITIVE_INFINITY));
        assertEquals(0, ErrorFunction.erfc(40));
        assertTrue(Double.isNaN(ErrorFunction.erf(Double.NaN)));
    }

    @Test
    void doubleErfHasNoJumpWhereTheSeriesHandsOverToTheFraction() {
        // a gradcheck's central difference (eps 1e-6) turns a jump J into a slope error of J / 2e-6
        double below = Math.nextDown(2.0);
        assertTrue(Math.abs(ErrorFunction.erf(2.0) - ErrorFunction.erf(below)) < 1e-15);
        assertTrue(Math.abs(ErrorFunction.erfc(-2.0) - ErrorFunction.erfc(-below)) < 1e-15);
    }

    @Test
    void floatErfIsWithinTwoTenMillionthsRelative() {
        int n = 40_001; // not a multiple of the vector width: the scalar tail runs too
        float[] xs = new float[n];
        for (int i = 0; i < n; i++) xs[i] = (float) (i * 8.0 / (n - 1) - 4);
        float[] out = new float[n + 3];
        ErrorFunction.erf(xs, 0, out, 3, n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            if (xs[i] != 0) worst = Math.max(worst, Math.abs(out[3 + i] / ErrorFunction.erf(xs[i]) - 1));
        }
        assertTrue(worst < 2e-7, "worst relative error " + worst);
    }

    @Test
    void floatNormalCdfKeepsRelativeAccuracyInTheLowerTail() {
        int lanes = Backend.FLOATS.length();
        float[] xs = new float[lanes];
        float[] out = new float[lanes];
        for (double[] c : CDF) {
            java.util.Arrays.fill(xs, (float) c[0]);
            ErrorFunction.normalCdf(xs, 0, out, 0, lanes);
            assertEquals(c[1], out[0], 1e-6 * c[1], "Phi(" + c[0] + ")");
        }
        java.util.Arrays.fill(xs, 3f);
        ErrorFunction.normalCdf(xs, 0, out, 0, lanes);
        assertEquals(1 - 0.0013498980316300945267, out[0], 1e-7);
        // against the double version everywhere, with both lanes and tail
        int n = 20_003;
        float[] grid = new float[n];
        for (int i = 0; i < n; i++) grid[i] = (float) (i * 24.0 / (n - 1) - 12);
        float[] cdf = new float[n];
        ErrorFunction.normalCdf(grid, 0, cdf, 0, n);
        for (int i = 0; i < n; i++) {
            double expected = ErrorFunction.normalCdf(grid[i]);
            assertEquals(expected, cdf[i], 4e-7 * expected + 1e-37, "Phi(" + grid[i] + ")");
        }
    }
}
