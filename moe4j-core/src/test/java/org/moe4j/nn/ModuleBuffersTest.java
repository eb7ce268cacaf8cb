package org.moe4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;

class ModuleBuffersTest {
    static final class WithBias extends Module {
        final Tensor bias = buffer("bias", Tensor.zeros(4));
        final Linear proj = child("proj", new Linear(3, 4, false, new Rng(1)));
    }

    static final class Outer extends Module {
        final WithBias inner = child("inner", new WithBias());
        final Tensor count = buffer("count", Tensor.zeros(1));
    }

    @Test
    void buffersAreNamedLikeParametersButAreNotParameters() {
        Outer m = new Outer();
        assertEquals(List.of("count", "inner.bias"), List.copyOf(m.namedBuffers().keySet()));
        assertSame(m.inner.bias, m.namedBuffers().get("inner.bias"));
        assertEquals(List.of("inner.proj.weight"), List.copyOf(m.namedParameters().keySet()));
        assertEquals(12, m.parameterCount());
    }

    @Test
    void aBufferNameClashesWithAnyOtherMember() {
        Moe4jException e = assertThrows(Moe4jException.class, () -> new Module() {
            {
                buffer("x", Tensor.zeros(1));
                parameter("x", Tensor.zeros(1));
            }
        });
        assertTrue(e.getMessage().contains("already has a member named 'x'"), e.getMessage());
        assertThrows(Moe4jException.class, () -> new Module() {
            {
                buffer("a.b", Tensor.zeros(1));
            }
        });
    }
}
