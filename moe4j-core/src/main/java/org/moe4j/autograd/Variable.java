package org.moe4j.autograd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.ShapeException;
import org.moe4j.kernel.Elementwise;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;

/**
 * A tensor in the autograd graph: its value, its gradient once {@link #backward()} has run, and the op that
 * made it. The graph is built as ops run (define-by-run) and walked backward from a scalar loss; gradients are
 * accumulated with {@code +=}, so a variable used twice gets the sum.
 *
 * <p>Leaves ({@link #parameter}, {@link #constant}) keep their gradient until {@link #zeroGrad()}; intermediate
 * results drop theirs once it has been passed on, unless {@link #retainGrad()} was called.
 */
public final class Variable {
    private Tensor value; // replaced only by materialize(), once, on a parameter made under Init.deferred()
    private final boolean requiresGrad;
    private final Variable[] inputs; // null for leaves
    private final Backward backward; // null for leaves
    private final String op;
    private Tensor grad;
    private boolean retainGrad;

    private Variable(Tensor value, boolean requiresGrad, Variable[] inputs, Backward backward, String op) {
        this.value = value;
        this.requiresGrad = requiresGrad;
        this.inputs = inputs;
        this.backward = backward;
        this.op = op;
    }

    /** A leaf whose gradient is wanted: a weight, or an input under gradcheck. */
    public static Variable parameter(Tensor value) {
        return new Variable(value, true, null, null, "parameter");
    }

    /** A leaf without gradient: data, targets, masks. */
    public static Variable constant(Tensor value) {
        return new Variable(value, false, null, null, "constant");
    }

    /**
     * The result of an op. It joins the graph only when recording is on and some input requires a gradient;
     * otherwise it is a constant and {@code backward} is dropped.
     */
    public static Variable result(String op, Tensor value, Backward backward, Variable... inputs) {
        if (GradMode.enabled()) {
            for (Variable in : inputs) {
                if (in.requiresGrad) return new Variable(value, true, inputs.clone(), backward, op);
            }
        }
        return new Variable(value, false, null, null, op);
    }

    public Tensor value() {
        return value;
    }

    /**
     * The value of a parameter, ready to be written: a {@link Tensor#placeholder placeholder} (a model built to be
     * loaded, see {@code Init.deferred()}) is first replaced by zeros of its shape and dtype, which a loader then
     * fills. Any other value is returned as it is.
     */
    public Tensor materialize() {
        if (value.isPlaceholder()) {
            if (inputs != null) throw new IllegalStateException("materialize: '" + op + "' is not a leaf");
            value = Tensor.zeros(value.dtype(), value.shape());
        }
        return value;
    }

    /** The accumulated gradient, or {@code null} when none has reached this variable. */
    public Tensor grad() {
        return grad;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** The name of the op that produced this variable ("parameter" and "constant" for leaves). */
    public String op() {
        return op;
    }

    public int[] shape() {
        return value.shape();
    }

    public int dim(int axis) {
        return value.dim(axis);
    }

    public int rank() {
        return value.rank();
    }

    public DType dtype() {
        return value.dtype();
    }

    public boolean isLeaf() {
        return inputs == null;
    }

    /** Keeps this intermediate variable's gradient after backward (for inspection and tests). */
    public Variable retainGrad() {
        retainGrad = true;
        return this;
    }

    public void zeroGrad() {
        grad = null;
    }

    /** The same value, cut from the graph. */
    public Variable detach() {
        return constant(value);
    }

    /** Backpropagates from this scalar (one-element) variable, seeding its gradient with 1. */
    public void backward() {
        if (value.numel() != 1) {
            throw ShapeException.of("backward", "needs a one-element loss; pass a seed gradient otherwise",
                    value.shape());
        }
        backward(Tensor.full(value.dtype(), 1.0, value.shape()));
    }

    /** Backpropagates with the given gradient of some scalar with respect to this variable. */
    public void backward(Tensor seed) {
        if (!requiresGrad) {
            throw new Moe4jException("backward: this value does not depend on any parameter that requires a gradient");
        }
        if (!seed.sameShape(value)) throw ShapeException.of("backward", "seed shape differs", seed.shape(), value.shape());
        List<Variable> order = topologicalOrder();
        accumulate(seed, false);
        for (Variable v : order) {
            if (v.isLeaf() || v.grad == null) continue;
            Tensor[] inputGrads = v.backward.apply(v.grad);
            if (inputGrads.length != v.inputs.length) {
                throw new Moe4jException("backward of " + v.op + " returned " + inputGrads.length
                        + " gradients for " + v.inputs.length + " inputs");
            }
            for (int i = 0; i < inputGrads.length; i++) {
                Variable in = v.inputs[i];
                if (in.requiresGrad && inputGrads[i] != null) {
                    if (!inputGrads[i].sameShape(in.value)) {
                        throw ShapeException.of("backward of " + v.op, "gradient of input " + i + " has the wrong shape",
                                inputGrads[i].shape(), in.value.shape());
                    }
                    in.accumulate(inputGrads[i], inputGrads[i].storage() != v.grad.storage());
                }
            }
            if (!v.retainGrad) v.grad = null;
        }
    }

    /** Adds {@code g} to this variable's gradient; adopts it as the buffer when it is fresh and contiguous. */
    private void accumulate(Tensor g, boolean fresh) {
        if (grad == null) {
            grad = fresh && g.isContiguous() && g.dtype() == value.dtype() ? g : g.to(value.dtype());
        } else {
            Elementwise.addInPlace(grad, g);
        }
    }

    /** Variables reachable from this one that require gradients, each after every variable that uses it. */
    private List<Variable> topologicalOrder() {
        List<Variable> postOrder = new ArrayList<>();
        Map<Variable, Boolean> visited = new IdentityHashMap<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>(); // {variable, next input index}
        stack.push(new Object[] {this, 0});
        visited.put(this, true);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Variable v = (Variable) frame[0];
            int next = (Integer) frame[1];
            if (v.inputs != null && next < v.inputs.length) {
                frame[1] = next + 1;
                Variable in = v.inputs[next];
                if (in.requiresGrad && visited.put(in, true) == null) stack.push(new Object[] {in, 0});
            } else {
                stack.pop();
                postOrder.add(v);
            }
        }
        java.util.Collections.reverse(postOrder);
        return postOrder;
    }

    @Override
    public String toString() {
        return "Variable(" + op + ", " + Arrays.toString(value.shape()) + (requiresGrad ? ", grad" : "") + ")";
    }
}
