package org.moe4j.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopMatcherTest {
    @Test
    void holdsBackWhatMayStartAStopAndCutsAtTheFirst() {
        StopMatcher m = new StopMatcher(List.of("bc", "xyz"));
        assertEquals("a", m.push("ab"), "b may start 'bc'");
        assertEquals("bd", m.push("d"), "it did not");
        assertEquals("", m.push("xy"));
        assertEquals("", m.push("zq"), "'xyz' found across pieces: it and what follows are dropped");
        assertTrue(m.stopped());
        assertEquals("", m.push("more"));
        assertEquals("", m.finish());
    }

    @Test
    void theEarliestStopWinsAndUnfinishedTextIsReleasedAtTheEnd() {
        StopMatcher m = new StopMatcher(List.of("world", "lo"));
        assertEquals("hel", m.push("hello world"));
        StopMatcher n = new StopMatcher(List.of("end"));
        assertEquals("the ", n.push("the en"));
        assertFalse(n.stopped());
        assertEquals("en", n.finish());
    }
}
