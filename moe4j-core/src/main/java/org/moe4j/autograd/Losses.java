package org.moe4j.autograd;

import org.moe4j.kernel.SoftmaxKernels;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/** Softmax, log-softmax and the fused softmax cross-entropy loss. */
public final class Losses {
    /** PyTorch's default {@code ignore_index}. */
    public static final int DEFAULT_IGNORE_INDEX = -100;

    private Losses() {}

    /** Softmax along {@code axis}, stable for large inputs. */
    public static Variable softmax(Variable x, int axis) {
        Tensor y = SoftmaxKernels.softmax(x.value(), axis);
        return Variable.result("softmax", y, g -> new Tensor[] {SoftmaxKernels.softmaxBackward(y, g, axis)}, x);
    }

    /** Log-softmax along {@code axis}, stable for large inputs. */
    public static Variable logSoftmax(Variable x, int axis) {
        Tensor y = SoftmaxKernels.logSoftmax(x.value(), axis);
        return Variable.result("logSoftmax", y, g -> new Tensor[] {SoftmaxKernels.logSoftmaxBackward(y, g, axis)}, x);
    }

    /** {@link #crossEntropy(Variable, IntTensor, int)} with ignore index -100. */
    public static Variable crossEntropy(Variable logits, IntTensor targets) {
        return crossEntropy(logits, targets, DEFAULT_IGNORE_INDEX);
    }

    /**
     * Mean cross-entropy of {@code logits [..., C]} against class indices {@code targets [...]}, over the targets
     * that are not {@code ignoreIndex} (PyTorch's reduction 'mean'). If every target is ignored the loss is 0 with
     * zero gradient (PyTorch gives NaN). Fused: the backward is {@code softmax - onehot}, from saved row
     * logsumexps, without storing the softmax. Returns a rank-0 variable.
     */
    public static Variable crossEntropy(Variable logits, IntTensor targets, int ignoreIndex) {
        Tensor x = logits.value();
        SoftmaxKernels.CrossEntropy ce = SoftmaxKernels.crossEntropy(x, targets, ignoreIndex);
        Tensor loss = Tensor.scalar(x.dtype(), ce.loss());
        return Variable.result("crossEntropy", loss,
                g -> new Tensor[] {SoftmaxKernels.crossEntropyBackward(x, targets, ignoreIndex, ce, g.item())}, logits);
    }
}
