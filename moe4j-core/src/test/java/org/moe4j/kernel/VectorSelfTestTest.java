package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

class VectorSelfTestTest {
    @Test
    void dotLoopsAgreeOnLengthsThatAreNotMultiplesOfTheVectorWidth() {
        Rng rng = new Rng(3);
        for (int n : new int[] {0, 1, 15, 17, 33, 100, 2 * Backend.FLOATS.length() + 3}) {
            float[] a = new float[n];
            float[] b = new float[n];
            double exact = 0;
            for (int i = 0; i < n; i++) {
                a[i] = rng.nextFloat() - 0.5f;
                b[i] = rng.nextFloat() - 0.5f;
                exact += (double) a[i] * b[i];
            }
            assertEquals(exact, VectorSelfTest.dotScalar(a, b), 1e-5, "scalar, n=" + n);
            assertEquals(exact, VectorSelfTest.dotVector(a, b), 1e-5, "vector, n=" + n);
        }
    }

    @Test
    void reportsTheSpeciesAndPositiveThroughputs() {
        VectorSelfTest.Result r = VectorSelfTest.run(Duration.ofMillis(40), Duration.ofMillis(500));
        assertTrue(r.warmup().toMillis() >= 20 && r.warmup().toMillis() < 2000, r.toString());
        assertEquals(Backend.FLOATS.vectorBitSize(), r.bits());
        assertEquals(Backend.FLOATS.length(), r.lanes());
        assertEquals(VectorSelfTest.LENGTH, r.length());
        assertTrue(r.scalarGflops() > 0 && r.vectorGflops() > 0, r.toString());
        assertEquals(r.vectorGflops() / r.scalarGflops(), r.speedup(), 1e-9);
        assertEquals(r.speedup() >= VectorSelfTest.CLEARLY_FASTER, r.clearlyFaster());
    }

    @Test
    void rejectsAnEmptyBudget() {
        Moe4jException e = assertThrows(Moe4jException.class, () -> VectorSelfTest.run(Duration.ZERO, Duration.ZERO));
        assertTrue(e.getMessage().contains("VectorSelfTest"), e.getMessage());
    }
}
