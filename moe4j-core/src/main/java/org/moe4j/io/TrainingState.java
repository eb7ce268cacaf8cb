package org.moe4j.io;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.common.Moe4jException;

/**
 * Where a run stands, saved in {@code state.json} so a resume continues exactly: the global step, the epoch,
 * the position in the epoch's data order, every random generator's state ({@code Rng.state()}, by the name of
 * its owner) and the metrics recorded so far (each a series by name; NaN allowed).
 */
public record TrainingState(long step, int epoch, long dataPosition, Map<String, long[]> rngStates,
        Map<String, List<Double>> metrics) {
    public TrainingState {
        if (step < 0 || epoch < 0 || dataPosition < 0) {
            throw new Moe4jException("training state: step, epoch and data position must be >= 0, got "
                    + step + ", " + epoch + ", " + dataPosition);
        }
        Map<String, long[]> rngs = new LinkedHashMap<>();
        if (rngStates != null) rngStates.forEach((k, v) -> rngs.put(k, v.clone()));
        rngStates = Collections.unmodifiableMap(rngs);
        Map<String, List<Double>> m = new LinkedHashMap<>();
        if (metrics != null) metrics.forEach((k, v) -> m.put(k, Collections.unmodifiableList(new ArrayList<>(v))));
        metrics = Collections.unmodifiableMap(m);
    }

    /** A state without generators or metrics. */
    public TrainingState(long step, int epoch, long dataPosition) {
        this(step, epoch, dataPosition, Map.of(), Map.of());
    }

    /** The saved state of generator {@code name} (a copy), for {@code Rng.restore}. */
    public long[] rngState(String name) {
        long[] s = rngStates.get(name);
        if (s == null) throw new Moe4jException("training state: no generator named '" + name + "' (have " + rngStates.keySet() + ")");
        return s.clone();
    }
}
