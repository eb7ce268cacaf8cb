package org.moe4j.optim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.kernel.OptimizerKernels;
import org.moe4j.tensor.Tensor;

/** Adam with decoupled weight decay (Loshchilov and Hutter 2019), with PyTorch's defaults. */
public final class AdamW extends Optimizer {
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final Tensor[] firstMoments; // per parameter, its shape
    private final Tensor[] secondMoments; // per parameter, its shape

    public AdamW(List<Variable> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
        super(params, lr);
        if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) {
            throw new Moe4jException("adamw: betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (!(eps > 0)) throw new Moe4jException("adamw: eps must be > 0, got " + eps);
        if (weightDecay < 0) throw new Moe4jException("adamw: weight decay must be >= 0, got " + weightDecay);
        this.beta1 = (float) beta1;
        this.beta2 = (float) beta2;
        this.eps = (float) eps;
        this.weightDecay = (float) weightDecay;
        this.firstMoments = new Tensor[params.size()];
        this.secondMoments = new Tensor[params.size()];
        for (int i = 0; i < params.size(); i++) {
            firstMoments[i] = params.get(i).value().newZeros(params.get(i).shape());
            secondMoments[i] = params.get(i).value().newZeros(params.get(i).shape());
        }
    }

    /** lr with betas (0.9, 0.999), eps 1e-8 and weight decay 0.01, as PyTorch. */
    public AdamW(List<Variable> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 0.01);
    }

    @Override
    protected Map<String, Tensor[]> stateBuffers() {
        Map<String, Tensor[]> buffers = new LinkedHashMap<>(); // PyTorch's names
        buffers.put("exp_avg", firstMoments);
        buffers.put("exp_avg_sq", secondMoments);
        return buffers;
    }

    @Override
    protected void update(int index, Variable param, long step) {
        OptimizerKernels.adamw(param.value(), param.grad(), firstMoments[index], secondMoments[index],
                (float) learningRate(), beta1, beta2, eps, weightDecay, step);
    }
}
