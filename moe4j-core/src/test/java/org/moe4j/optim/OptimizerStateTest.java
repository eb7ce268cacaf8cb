package org.moe4j.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.Tensor;

class OptimizerStateTest {
    private static List<Variable> params() {
        Variable a = Variable.parameter(Tensor.of(new float[] {1, 2, 3}, 3));
        Variable b = Variable.parameter(Tensor.of(new float[] {4, 5}, 1, 2));
        a.backward(Tensor.of(new float[] {0.1f, -0.2f, 0.3f}, 3));
        b.backward(Tensor.of(new float[] {1f, -1f}, 1, 2));
        return List.of(a, b);
    }

    @Test
    void adamWExportsItsMomentsStepsAndRate() {
        AdamW opt = new AdamW(params(), 0.01);
        opt.step();
        opt.step();
        OptimizerState s = opt.state();
        assertEquals("AdamW", s.kind());
        assertEquals(2, s.steps());
        assertEquals(0.01, s.learningRate());
        assertEquals(List.of("exp_avg.0", "exp_avg.1", "exp_avg_sq.0", "exp_avg_sq.1"), List.copyOf(s.tensors().keySet()));
        assertArrayEquals(new int[] {1, 2}, s.tensors().get("exp_avg.1").shape());
        assertTrue(s.tensors().get("exp_avg.0").get(0) != 0);
    }

    @Test
    void stateIsACopyAndLoadStateRestoresIt() {
        AdamW a = new AdamW(params(), 0.01);
        a.step();
        OptimizerState saved = a.state();
        float before = saved.tensors().get("exp_avg.0").get(0);
        a.step(); // must not change the copy
        assertEquals(before, saved.tensors().get("exp_avg.0").get(0));

        AdamW b = new AdamW(params(), 0.5);
        b.loadState(saved);
        assertEquals(1, b.steps());
        assertEquals(0.01, b.learningRate());
        assertArrayEquals(saved.tensors().get("exp_avg_sq.1").toFloatArray(), b.state().tensors().get("exp_avg_sq.1").toFloatArray());
    }

    @Test
    void sgdExportsMomentumOnlyWhenItHasSome() {
        assertTrue(new Sgd(params(), 0.1).state().tensors().isEmpty());
        assertEquals(List.of("momentum_buffer.0", "momentum_buffer.1"),
                List.copyOf(new Sgd(params(), 0.1, 0.9, 0, false).state().tensors().keySet()));
    }

    @Test
    void loadStateChecksKindNamesAndShapesBeforeChangingAnything() {
        Sgd sgd = new Sgd(params(), 0.1, 0.9, 0, false);
        AdamW adam = new AdamW(params(), 0.01);
        Moe4jException e = assertThrows(Moe4jException.class, () -> sgd.loadState(adam.state()));
        assertEquals("optimizer state: saved by AdamW, cannot load into Sgd", e.getMessage());

        Map<String, Tensor> wrong = new LinkedHashMap<>(sgd.state().tensors());
        wrong.put("momentum_buffer.1", Tensor.zeros(2, 1));
        e = assertThrows(Moe4jException.class, () -> sgd.loadState(new OptimizerState("Sgd", 9, 0.2, wrong)));
        assertTrue(e.getMessage().contains("'momentum_buffer.1' has shape [2, 1] but the optimizer's is [1, 2]"), e.getMessage());
        assertEquals(0, sgd.steps());
        assertEquals(0.1, sgd.learningRate());

        Map<String, Tensor> missing = new LinkedHashMap<>(sgd.state().tensors());
        missing.remove("momentum_buffer.0");
        e = assertThrows(Moe4jException.class, () -> sgd.loadState(new OptimizerState("Sgd", 1, 0.1, missing)));
        assertTrue(e.getMessage().contains("'momentum_buffer.0' is missing"), e.getMessage());

        Map<String, Tensor> extra = new LinkedHashMap<>(sgd.state().tensors());
        extra.put("velocity.0", Tensor.zeros(3));
        e = assertThrows(Moe4jException.class, () -> sgd.loadState(new OptimizerState("Sgd", 1, 0.1, extra)));
        assertTrue(e.getMessage().contains("no state tensor 'velocity.0'"), e.getMessage());
    }
}
