package org.moe4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The acceptance check: a 2-layer-hidden MLP trained with plain SGD reaches a stated loss. */
class SpiralsMlpTest {
    @Test
    void mlpLearnsTheSpiralsWithPlainSgd() {
        List<String> lines = new ArrayList<>();
        SpiralsMlp.Result r = SpiralsMlp.run(1, 1500, lines::add);
        assertTrue(r.firstLoss() > 1.0, "an untrained 3-class model starts near log 3: " + r.firstLoss());
        assertTrue(r.finalLoss() < 0.15, "final loss " + r.finalLoss());
        assertTrue(r.accuracy() > 0.95, "accuracy " + r.accuracy());
        assertEquals(12, lines.size(), "header, ten progress lines, summary");
    }

    @Test
    void sameSeedGivesBitIdenticalRuns() {
        SpiralsMlp.Result a = SpiralsMlp.run(9, 50, s -> {});
        SpiralsMlp.Result b = SpiralsMlp.run(9, 50, s -> {});
        assertEquals(a.finalLoss(), b.finalLoss());
        assertEquals(a.accuracy(), b.accuracy());
    }
}
