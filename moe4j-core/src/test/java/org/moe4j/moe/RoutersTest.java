package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.IntTensor;
import org.moe4j.testing.TestData;

class RoutersTest {
    @Test
    void everyCatalogEntryHasAUniqueNameAPaperAndBuildsARouterOfTheRightSize() {
        Set<String> names = new HashSet<>();
        MoeConfig config = MoeConfig.of(8, 16, 4, 2);
        for (RouterInfo info : Routers.all()) {
            assertTrue(names.add(info.name()), "duplicate router name " + info.name());
            assertFalse(info.paper().isBlank(), info.name());
            assertFalse(info.summary().isBlank(), info.name());
            assertEquals(4, info.create(config, new Rng(1)).experts(), info.name());
        }
    }

    /**
     * Each entry builds its own class's router, and a layer around it runs forward and backward in training. The
     * context carries what any router may need: token ids (hash) and sequence starts (SMEAR's groups); 8 tokens
     * fill Mixture of Tokens' groups of 4.
     */
    @Test
    void everyCatalogEntryBuildsALayerThatRunsForwardAndBackward() throws ReflectiveOperationException {
        MoeConfig config = MoeConfig.of(8, 16, 4, 2);
        for (RouterInfo info : Routers.all()) {
            Router router = info.create(config, new Rng(1));
            assertSame(info, router.getClass().getField("INFO").get(null), info.name() + " builds its own class");
            MoeLayer layer = new MoeLayer(config, router, new Rng(2));
            Variable x = Variable.parameter(TestData.randn(new Rng(3), 8, 8));
            RoutingContext ctx = RoutingContext.training("moe", new Rng(1))
                    .withTokenIds(IntTensor.of(5, 1, 4, 1, 5, 9, 2, 6)).withSequenceStarts(new int[] {0, 5});
            MoeOutput out = layer.forward(x, ctx);
            assertArrayEquals(new int[] {8, 8}, out.output().shape(), info.name());
            Reductions.sum(out.output()).backward();
            assertNotNull(x.grad(), info.name());
        }
    }

    @Test
    void anUnknownNameListsTheKnownOnes() {
        Moe4jException e = assertThrows(Moe4jException.class, () -> Routers.find("nope"));
        assertTrue(e.getMessage().contains("topk"), e.getMessage());
    }
}
