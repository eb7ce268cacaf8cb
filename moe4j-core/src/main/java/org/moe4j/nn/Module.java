package org.moe4j.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.moe4j.autograd.GradMode;
import org.moe4j.common.Moe4jException;
import org.moe4j.autograd.Variable;
import org.moe4j.kernel.PackedWeight;
import org.moe4j.tensor.QuantizedTensor;
import org.moe4j.tensor.Storage;
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
    private final Map<String, PackedWeight> quantized = new LinkedHashMap<>();

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

    /**
     * Holds parameter {@code name} as quantized rows for inference only: modules that compute with a quantized
     * weight ({@link Linear}, the experts) override this; the default refuses with a message naming the module.
     */
    public void holdQuantized(String name, QuantizedTensor rows) {
        throw new Moe4jException(getClass().getSimpleName() + " cannot compute with a quantized '" + name + "' ("
                + rows + "); keep it float32");
    }

    /**
     * Registers {@code rows} as the inference weight behind parameter {@code name} and releases the float values:
     * the parameter is replaced by a same-shaped zero-stride placeholder (one float), so names and shapes stay but
     * the memory goes. The rows must hold exactly the parameter's values ([..., cols] flattened to [rows, cols]).
     * Returns the placeholder, which the module keeps in its field.
     */
    protected final Variable quantizeParameter(String name, PackedWeight rows) {
        Variable p = params.get(name);
        if (p == null) throw new Moe4jException(getClass().getSimpleName() + " has no parameter '" + name + "'");
        int[] shape = p.shape();
        if (shape.length < 2 || shape[shape.length - 1] != rows.cols() || p.value().numel() != (long) rows.rows() * rows.cols()) {
            throw new Moe4jException(getClass().getSimpleName() + "." + name + ": quantized " + rows + " does not hold the"
                    + " parameter " + java.util.Arrays.toString(shape));
        }
        Variable placeholder = Variable.parameter(Tensor.placeholder(p.value().dtype(), shape));
        params.put(name, placeholder);
        quantized.put(name, rows);
        return placeholder;
    }

    /** Every quantized inference weight of this module and its children, by dotted parameter name. */
    public final Map<String, PackedWeight> namedQuantized() {
        Map<String, PackedWeight> out = new LinkedHashMap<>();
        collectQuantized("", out);
        return Collections.unmodifiableMap(out);
    }

    private void collectQuantized(String prefix, Map<String, PackedWeight> out) {
        quantized.forEach((name, q) -> out.put(prefix + name, q));
        children.forEach((name, m) -> m.collectQuantized(prefix + name + ".", out));
    }

    /**
     * Bytes of memory the weights hold: each distinct parameter storage (float32 4 bytes a value, float64 8) plus
     * the quantized weights' blocks. Placeholders of quantized parameters count their one value.
     */
    public final long weightBytes() {
        Set<Storage> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long bytes = 0;
        for (Variable p : namedParameters().values()) {
            Storage s = p.value().storage();
            if (seen.add(s)) bytes += (long) s.size() * (s.dtype() == org.moe4j.tensor.DType.F64 ? 8 : 4);
        }
        for (PackedWeight q : namedQuantized().values()) bytes += q.bytes();
        return bytes;
    }

    /** The child module at a dotted path ("layers.0.attention.q"), or null. */
    public final Module module(String path) {
        Module m = this;
        for (String part : path.split("\\.")) {
            m = m.children.get(part);
            if (m == null) return null;
        }
        return m;
    }

    /** Throws when gradients are being recorded: a quantized weight serves inference only. */
    protected final void requireInference(String op, PackedWeight w) {
        if (GradMode.enabled()) {
            throw new Moe4jException(op + ": the weight is held quantized (" + w + ") for inference only and cannot be"
                    + " trained; run under GradMode.off() (generation does), or load the model with float32 weights"
                    + " to train or fine-tune it");
        }
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
