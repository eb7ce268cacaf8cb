package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

class ConfigChecksTest {
    private static void fails(String message, Executable bad) {
        assertEquals(message, assertThrows(Moe4jException.class, bad).getMessage());
    }

    @Test
    void eachCheckNamesTheRouterTheValueAndWhatWasExpected() {
        fails("top-k router: dim and experts must be positive, got dim=0, experts=3",
                () -> SoftmaxTopKRouter.Config.of(0, 3, 1));
        fails("top-k router: k must be in [1, 3], got 4", () -> SoftmaxTopKRouter.Config.of(2, 3, 4));
        fails("sinkhorn router: maxIterations must be >= 1, got 0",
                () -> SinkhornRouter.Config.of(2, 3, 1).withSinkhorn(0, 1e-4));
        fails("expert-choice router: capacity factor must be positive and finite, got NaN",
                () -> new ExpertChoiceRouter.Config(2, 3, Double.NaN));
        fails("top-p router: dynamic loss weight must be finite and >= 0, got Infinity",
                () -> TopPRouter.Config.of(2, 3).withDynamicLossWeight(Double.POSITIVE_INFINITY));
        fails("smear router: pooling must be given", () -> SmearRouter.Config.of(2, 3).withPooling(null));
    }

    @Test
    void boundaryValuesPass() {
        assertDoesNotThrow(() -> SoftmaxTopKRouter.Config.of(1, 3, 3));
        assertDoesNotThrow(() -> NullExpertRouter.Config.of(2, 3, 0, 3).withBalanceWeight(0));
        assertDoesNotThrow(() -> new MixtureOfTokensRouter(new MixtureOfTokensRouter.Config(2, 3, 1), new Rng(1)));
    }
}
