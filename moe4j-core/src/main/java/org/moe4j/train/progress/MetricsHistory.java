package org.moe4j.train.progress;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.moe4j.moe.RouterStats;
import org.moe4j.train.progress.MetricsRecord.Eval;
import org.moe4j.train.progress.MetricsRecord.Routing;
import org.moe4j.train.progress.MetricsRecord.Step;
import org.moe4j.train.progress.MetricsRecord.Summary;

/** A run's metrics sorted by kind, each list in log order: what the report draws. */
public record MetricsHistory(List<Step> steps, List<Eval> evals, List<Routing> routing, List<Summary> summaries) {
    public MetricsHistory {
        steps = List.copyOf(steps);
        evals = List.copyOf(evals);
        routing = List.copyOf(routing);
        summaries = List.copyOf(summaries);
    }

    public static MetricsHistory of(List<? extends MetricsRecord> records) {
        List<Step> steps = new ArrayList<>();
        List<Eval> evals = new ArrayList<>();
        List<Routing> routing = new ArrayList<>();
        List<Summary> summaries = new ArrayList<>();
        for (MetricsRecord r : records) {
            switch (r) {
                case Step s -> steps.add(s);
                case Eval e -> evals.add(e);
                case Routing g -> routing.add(g);
                case Summary s -> summaries.add(s);
            }
        }
        return new MetricsHistory(steps, evals, routing, summaries);
    }

    public static MetricsHistory empty() {
        return new MetricsHistory(List.of(), List.of(), List.of(), List.of());
    }

    /** The last summary written, if the run got that far. */
    public Optional<Summary> summary() {
        return summaries.isEmpty() ? Optional.empty() : Optional.of(summaries.getLast());
    }

    /** The MoE layers' names in the order they first appear in the routing records. */
    public List<String> layerNames() {
        Set<String> names = new LinkedHashSet<>();
        for (Routing g : routing) for (RouterStats s : g.layers()) names.add(s.layer());
        return List.copyOf(names);
    }

    /** The splits evaluated, in the order they first appear. */
    public List<String> evalSplits() {
        Set<String> names = new LinkedHashSet<>();
        for (Eval e : evals) names.add(e.split());
        return List.copyOf(names);
    }
}
