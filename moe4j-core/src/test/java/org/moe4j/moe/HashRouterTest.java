package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class HashRouterTest {
    private static RoutingContext withIds(int... ids) {
        return RoutingContext.inference("moe").withTokenIds(IntTensor.of(ids));
    }

    private static Assignments route(HashRouter router, int... ids) {
        Variable x = Variable.constant(Tensor.zeros(ids.length, 4));
        return ((RouterOutput.Sparse) router.route(x, withIds(ids))).assignments();
    }

    @Test
    void anIdAlwaysGoesToTheSameExpertWhateverTheBatch() {
        HashRouter router = new HashRouter(new HashRouter.Config(7, 99));
        TokenHash hash = new TokenHash(99, 7);
        int[] first = {5, 17, 99, 5, 1234, 40_000};
        int[] second = {1234, 8, 5, 40_000, 17, 17, 99, 3};
        Assignments a = route(router, first);
        Assignments b = route(router, second);
        for (Assignments s : new Assignments[] {a, b}) {
            int[] ids = s == a ? first : second;
            assertEquals(ids.length, s.size(), "one expert per token");
            float[] gates = s.gates().value().toFloatArray();
            for (int t = 0; t < ids.length; t++) {
                assertEquals(t, s.token()[t]);
                assertEquals(hash.expertOf(ids[t]), s.expert()[t], "id " + ids[t]);
                assertEquals(1f, gates[t]);
            }
        }
        assertEquals(a.expert()[1], b.expert()[4], "id 17 in two batches");
        assertEquals(a.expert()[4], b.expert()[0], "id 1234 in two batches");
        HashRouter reseeded = new HashRouter(new HashRouter.Config(7, 99).withSeed(100));
        int[] many = new int[50];
        for (int i = 0; i < many.length; i++) many[i] = i;
        assertFalse(java.util.Arrays.equals(route(router, many).expert(), route(reseeded, many).expert()),
                "the seed picks the hash");
    }

    @Test
    void handBuiltExpertsGiveClosedFormOutputsForABatch() {
        HashRouter router = new HashRouter(new HashRouter.Config(3, 5));
        int[] idOf = new int[3]; // the first id hashed to each expert
        java.util.Arrays.fill(idOf, -1);
        for (int id = 0, found = 0; found < 3; id++) {
            int e = router.hash().expertOf(id);
            if (idOf[e] < 0) {
                idOf[e] = id;
                found++;
            }
        }
        MoeLayer layer = RouterFixtures.scaledReluLayer(router);
        int[] ids = {idOf[2], idOf[0], idOf[1], idOf[2]};
        float[] x = {1, 2, 3, 4, 5, 6, 0.5f, 0.25f};
        float[] y = RouterLayerChecks.run(layer, x, 4, RoutingContext.inference("moe").withTokenIds(IntTensor.of(ids)));
        float[] expected = {5, 10, 6, 8, 15, 18, 2.5f, 1.25f}; // scale 5, 2, 3, 5 by the ids' experts, gate 1
        assertArrayEquals(expected, y, 1e-6f);
    }

    @Test
    void groupedDroplessLayerEqualsTheNaiveLoopAndGradchecks() {
        Rng rng = new Rng(41);
        MoeLayer layer = new MoeLayer(MoeConfig.of(12, 20, 5, 1), new HashRouter(new HashRouter.Config(5, 1)), rng);
        Variable x = Variable.parameter(TestData.randn(rng, 9, 12));
        int[] ids = {3, 1, 4, 1, 5, 9, 2, 6, 5};
        RouterLayerChecks.assertGroupedEqualsNaive(layer, x, () -> withIds(ids), TestData.randn(rng, 9, 12));
        try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
            MoeLayer small = new MoeLayer(MoeConfig.of(3, 4, 4, 1), new HashRouter(new HashRouter.Config(4, 2)), rng);
            Variable x64 = Variable.parameter(TestData.randn64(rng, 5, 3));
            RouterLayerChecks.assertLayerGradcheck(small, x64, () -> withIds(7, 8, 9, 10, 7));
        }
    }

    @Test
    void noParametersNoProbabilitiesAndOneExpertPerToken() {
        HashRouter router = (HashRouter) HashRouter.INFO.create(MoeConfig.of(8, 16, 4, 2), new Rng(3));
        assertEquals(0, router.parameterCount());
        assertEquals(4, router.experts());
        RouterOutput.Sparse s = (RouterOutput.Sparse) router.route(Variable.constant(Tensor.zeros(3, 8)), withIds(1, 2, 3));
        assertNull(s.probs());
        assertNull(s.logits());
        assertEquals(3, s.assignments().size());
    }

    @Test
    void missingOrMiscountedIdsNameTheLayer() {
        HashRouter router = new HashRouter(new HashRouter.Config(4, 0));
        Variable x = Variable.constant(Tensor.zeros(3, 2));
        Moe4jException none = assertThrows(Moe4jException.class, () -> router.route(x, RoutingContext.inference("blocks.7.moe")));
        assertTrue(none.getMessage().contains("blocks.7.moe") && none.getMessage().contains("withTokenIds"), none.getMessage());
        Moe4jException count = assertThrows(Moe4jException.class,
                () -> router.route(x, RoutingContext.inference("blocks.8.moe").withTokenIds(IntTensor.of(1, 2))));
        assertTrue(count.getMessage().contains("blocks.8.moe") && count.getMessage().contains("2 token ids for 3 tokens"),
                count.getMessage());
        Moe4jException negative = assertThrows(Moe4jException.class,
                () -> router.route(x, RoutingContext.inference("blocks.9.moe").withTokenIds(IntTensor.of(1, -2, 3))));
        assertTrue(negative.getMessage().contains("blocks.9.moe"), negative.getMessage());
        assertThrows(Moe4jException.class, () -> new HashRouter.Config(0, 1));
    }
}
