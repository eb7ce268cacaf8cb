package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.testing.TestData;

class BalanceLossesTest {
    /** Token t to expert[t] of three, one assignment each (gates and scores unused here). */
    private static Assignments oneEach(Variable probs, int... expert) {
        int tokens = expert.length;
        int[] token = new int[tokens];
        for (int t = 0; t < tokens; t++) token[t] = t;
        Variable gates = Variable.constant(probs.value().newZeros(tokens));
        return new Assignments(tokens, 3, token, expert, gates, new float[tokens]);
    }

    @Test
    void theSequenceLossIsTheMeanOfEachSequencesOwnLoss() {
        Variable probs = Variable.constant(TestData.uniform(new Rng(1), 0.1, 1, 5, 3));
        Assignments a = oneEach(probs, 0, 0, 1, 2, 2);
        double first = BalanceLosses.loadBalance(Shaping.narrow(probs, 0, 0, 2), new double[] {1, 0, 0}).value().item();
        double second = BalanceLosses.loadBalance(Shaping.narrow(probs, 0, 2, 3), new double[] {0, 1 / 3.0, 2 / 3.0})
                .value().item();
        assertEquals((first + second) / 2, BalanceLosses.sequenceLoadBalance(probs, a, new int[] {0, 2}).value().item(),
                1e-6);
    }

    @Test
    void sequenceStartsMustBeginAtZeroAndIncreaseBelowTheTokenCount() {
        Variable probs = Variable.constant(TestData.uniform(new Rng(2), 0.1, 1, 5, 3));
        Assignments a = oneEach(probs, 0, 1, 2, 0, 1);
        for (int[] starts : new int[][] {{1, 3}, {0, 3, 3}, {0, 5}, {}}) {
            Moe4jException e = assertThrows(Moe4jException.class, () -> BalanceLosses.sequenceLoadBalance(probs, a, starts));
            assertTrue(e.getMessage().startsWith("sequence load balance: sequence starts must begin at 0"), e.getMessage());
        }
    }
}
