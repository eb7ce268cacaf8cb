package org.moe4j.optim;

import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.kernel.OptimizerKernels;
import org.moe4j.tensor.Tensor;

/** Stochastic gradient descent with optional momentum (PyTorch's formulation), Nesterov and L2 weight decay. */
public final class Sgd extends Optimizer {
    private final float momentum;
    private final float weightDecay;
    private final boolean nesterov;
    private final Tensor[] momentumBuffers; // one per parameter, its shape; null without momentum

    public Sgd(List<Variable> params, double lr, double momentum, double weightDecay, boolean nesterov) {
        super(params, lr);
        if (momentum < 0 || momentum >= 1) throw new Moe4jException("sgd: momentum must be in [0, 1), got " + momentum);
        if (weightDecay < 0) throw new Moe4jException("sgd: weight decay must be >= 0, got " + weightDecay);
        if (nesterov && momentum == 0) throw new Moe4jException("sgd: Nesterov needs a momentum above 0");
        this.momentum = (float) momentum;
        this.weightDecay = (float) weightDecay;
        this.nesterov = nesterov;
        this.momentumBuffers = new Tensor[params.size()];
        if (momentum > 0) {
            for (int i = 0; i < params.size(); i++) momentumBuffers[i] = params.get(i).value().newZeros(params.get(i).shape());
        }
    }

    public Sgd(List<Variable> params, double lr) {
        this(params, lr, 0, 0, false);
    }

    @Override
    protected Map<String, Tensor[]> stateBuffers() {
        return momentum > 0 ? Map.of("momentum_buffer", momentumBuffers) : Map.of();
    }

    @Override
    protected void update(int index, Variable param, long step) {
        OptimizerKernels.sgd(param.value(), param.grad(), momentumBuffers[index], (float) learningRate(), momentum,
                weightDecay, nesterov);
    }
}
