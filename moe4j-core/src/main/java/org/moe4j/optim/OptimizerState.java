package org.moe4j.optim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.Tensor;

/**
 * What an optimizer needs to continue exactly where it stopped: its kind, the number of steps taken, the
 * learning rate and its per-parameter state tensors (moments, momentum buffers), keyed
 * {@code <buffer>.<parameter index>}, e.g. {@code exp_avg.3}.
 */
public record OptimizerState(String kind, long steps, double learningRate, Map<String, Tensor> tensors) {
    public OptimizerState {
        if (kind == null || kind.isEmpty()) throw new Moe4jException("optimizer state: kind must be named");
        if (steps < 0) throw new Moe4jException("optimizer state: steps must be >= 0, got " + steps);
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }
}
