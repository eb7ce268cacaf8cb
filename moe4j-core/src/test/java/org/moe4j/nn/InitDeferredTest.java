package org.moe4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;

/** A module built under {@link Init#deferred()} holds placeholders until a loader materializes each weight. */
class InitDeferredTest {
    @Test
    void deferredWeightsHoldNoMemoryUntilMaterialized() {
        Linear lazy;
        try (var deferred = Init.deferred()) {
            lazy = new Linear(300, 200, true, new Rng(1));
        }
        Variable w = lazy.weight();
        assertTrue(w.value().isPlaceholder());
        assertEquals(1, w.value().storage().size());
        assertEquals(2, lazy.weightBytes() / 4, "weight and bias are placeholders of one value each");
        Tensor filled = w.materialize();
        assertFalse(filled.isPlaceholder());
        assertArrayEquals(new int[] {200, 300}, filled.shape());
        assertSame(filled, w.value());
        assertSame(filled, w.materialize(), "a materialized weight is returned as it is");
        for (float v : filled.toFloatArray()) assertEquals(0f, v);
    }

    @Test
    void theScopeEndsAndModulesOutsideItDrawTheirWeights() {
        try (var deferred = Init.deferred()) {
            assertTrue(Init.kaimingUniform(new Rng(2), 4, 3, 4).isPlaceholder());
        }
        Linear drawn = new Linear(4, 3, false, new Rng(2));
        assertFalse(drawn.weight().value().isPlaceholder());
        assertTrue(drawn.weight().value().toFloatArray()[0] != 0f);
    }
}
