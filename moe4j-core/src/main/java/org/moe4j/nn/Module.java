package org.moe4j.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.common.Moe4jException;
import org.moe4j.autograd.Variable;
import org.moe4j.tensor.Tensor;

/**
 * A layer or model: named parameters and named child modules, registered explicitly in the constructor, so
 * that names are stable for checkpoints ({@code "layers.0.weight"}). Modules hold only parameters and
 * configuration, never per-call scratch state, so one instance serves many threads.
 */
public abstract class Module {
    private final Map<String, Variable> params = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();

    /** Registers a trainable parameter initialised to {@code init} (the tensor is adopted, not copied). */
    protected final Variable parameter(String name, Tensor init) {
        checkName(name);
        Variable p = Variable.parameter(init);
        params.put(name, p);
        return p;
    }

    /**
     * Registers non-trainable state that checkpoints save and restore by name (a router's selection biases,
     * running statistics). The tensor is adopted; a restore writes into it in place, so update it in place too.
     */
    protected final Tensor buffer(String name, Tensor init) {
        checkName(name);
        buffers.put(name, init);
        return init;
    }

    /** Registers a child module whose parameters appear under {@code name.}. */
    protected final <M extends Module> M child(String name, M module) {
        checkName(name);
        children.put(name, module);
        return module;
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains(".")) throw new Moe4jException("module name '" + name + "' must be non-empty, without dots");
        if (params.containsKey(name) || children.containsKey(name) || buffers.containsKey(name)) {
            throw new Moe4jException("module " + getClass().getSimpleName() + " already has a member named '" + name + "'");
        }
    }

    /** Every parameter of this module and its children, by dotted name, in registration order. */
    public final Map<String, Variable> namedParameters() {
        Map<String, Variable> out = new LinkedHashMap<>();
        collect("", out);
        return Collections.unmodifiableMap(out);
    }

    private void collect(String prefix, Map<String, Variable> out) {
        params.forEach((name, p) -> out.put(prefix + name, p));
        children.forEach((name, m) -> m.collect(prefix + name + ".", out));
    }

    /** Every buffer (non-trainable state) of this module and its children, by dotted name, in registration order. */
    public final Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collectBuffers("", out);
        return Collections.unmodifiableMap(out);
    }

    private void collectBuffers(String prefix, Map<String, Tensor> out) {
        buffers.forEach((name, b) -> out.put(prefix + name, b));
        children.forEach((name, m) -> m.collectBuffers(prefix + name + ".", out));
    }

    public final List<Variable> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** The number of trainable scalars. */
    public final long parameterCount() {
        long n = 0;
        for (Variable p : namedParameters().values()) n += p.value().numel();
        return n;
    }

    public final void zeroGrad() {
        for (Variable p : namedParameters().values()) p.zeroGrad();
    }
}
