package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

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

    @Test
    void anUnknownNameListsTheKnownOnes() {
        Moe4jException e = assertThrows(Moe4jException.class, () -> Routers.find("nope"));
        assertTrue(e.getMessage().contains("topk"), e.getMessage());
    }
}
