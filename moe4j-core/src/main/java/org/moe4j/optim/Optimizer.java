package org.moe4j.optim;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.Tensor;

/** Updates a fixed list of parameters from their gradients. Parameters without a gradient are skipped. */
public abstract class Optimizer {
    protected final List<Variable> params;
    private double lr;
    private long steps;

    protected Optimizer(List<Variable> params, double lr) {
        if (params.isEmpty()) throw new Moe4jException("optimizer: no parameters to optimise");
        for (Variable p : params) {
            if (!p.isLeaf() || !p.requiresGrad()) throw new Moe4jException("optimizer: " + p + " is not a trainable leaf");
        }
        this.params = List.copyOf(params);
        setLearningRate(lr);
    }

    /** Applies one update and counts the step. */
    public final void step() {
        steps++;
        for (int i = 0; i < params.size(); i++) {
            Variable p = params.get(i);
            if (p.grad() != null) update(i, p, steps);
        }
    }

    /** Updates parameter {@code index} in place; {@code step} is 1-based. */
    protected abstract void update(int index, Variable param, long step);

    public final void zeroGrad() {
        for (Variable p : params) p.zeroGrad();
    }

    public final double learningRate() {
        return lr;
    }

    /** Sets the learning rate for later steps (schedules call this each step). */
    public final void setLearningRate(double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) throw new Moe4jException("learning rate must be finite and >= 0, got " + lr);
        this.lr = lr;
    }

    public final long steps() {
        return steps;
    }

    /** The parameters, in the order state tensors are indexed. */
    public final List<Variable> parameters() {
        return params;
    }

    /** The name a checkpoint records, so state is never loaded into a different kind of optimizer. */
    public String kind() {
        return getClass().getSimpleName();
    }

    /**
     * The subclass's live per-parameter state by buffer name (e.g. {@code exp_avg}), each array indexed like the
     * parameters; none by default. {@link #state} copies from these arrays and {@link #loadState} writes into them.
     */
    protected Map<String, Tensor[]> stateBuffers() {
        return Map.of();
    }

    /** A copy of the state needed to continue exactly: step count, learning rate and state tensors. */
    public final OptimizerState state() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        stateBuffers().forEach((buffer, perParam) -> {
            for (int i = 0; i < perParam.length; i++) {
                if (perParam[i] != null) tensors.put(buffer + "." + i, perParam[i].copy());
            }
        });
        return new OptimizerState(kind(), steps, lr, tensors);
    }

    /** Restores a saved state; checks everything (kind, names, shapes) before changing anything. */
    public final void loadState(OptimizerState state) {
        if (!state.kind().equals(kind())) {
            throw new Moe4jException("optimizer state: saved by " + state.kind() + ", cannot load into " + kind());
        }
        Map<String, Tensor> targets = new LinkedHashMap<>();
        stateBuffers().forEach((buffer, perParam) -> {
            for (int i = 0; i < perParam.length; i++) {
                if (perParam[i] != null) targets.put(buffer + "." + i, perParam[i]);
            }
        });
        for (String name : state.tensors().keySet()) {
            if (!targets.containsKey(name)) {
                throw new Moe4jException("optimizer state: " + kind() + " has no state tensor '" + name
                        + "' (expected " + targets.keySet() + ")");
            }
        }
        for (Map.Entry<String, Tensor> t : targets.entrySet()) {
            Tensor saved = state.tensors().get(t.getKey());
            if (saved == null) throw new Moe4jException("optimizer state: state tensor '" + t.getKey() + "' is missing");
            if (!saved.sameShape(t.getValue())) {
                throw new Moe4jException("optimizer state: state tensor '" + t.getKey() + "' has shape "
                        + Arrays.toString(saved.shape()) + " but the optimizer's is " + Arrays.toString(t.getValue().shape()));
            }
        }
        setLearningRate(state.learningRate());
        targets.forEach((name, target) -> target.copyFrom(state.tensors().get(name)));
        steps = state.steps();
    }
}
