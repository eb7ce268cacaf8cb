package org.moe4j.optim;

import java.util.List;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;

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
}
