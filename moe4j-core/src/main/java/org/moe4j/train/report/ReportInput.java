package org.moe4j.train.report;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.moe4j.common.Moe4jException;

/**
 * What the report shows beside the metrics log.
 *
 * @param title        the page's heading (e.g. "moe-cnn on Fashion-MNIST")
 * @param config       the run's configuration, in display order
 * @param provenance   seed, data hash, code version, JVM and Vector species..., in display order
 * @param classNames   the classes' names, index = label (may be empty: then "class 0", "class 1"...)
 * @param classExpert  one class x expert matrix per MoE layer (may be empty)
 * @param unit         what the throughput counts, plural ("images", "tokens")
 * @param expertTokens language models: each MoE layer's experts' preferred tokens (may be empty)
 */
public record ReportInput(String title, Map<String, String> config, Map<String, String> provenance,
        List<String> classNames, List<ClassExpertCounts> classExpert, String unit, List<ExpertTokens> expertTokens) {
    /** A classifier's input: items counted as "items", no token preferences. */
    public ReportInput(String title, Map<String, String> config, Map<String, String> provenance, List<String> classNames,
            List<ClassExpertCounts> classExpert) {
        this(title, config, provenance, classNames, classExpert, "items", List.of());
    }

    public ReportInput {
        unit = unit == null || unit.isBlank() ? "items" : unit;
        expertTokens = List.copyOf(expertTokens);
        Objects.requireNonNull(title, "title");
        config = Collections.unmodifiableMap(new LinkedHashMap<>(config));
        provenance = Collections.unmodifiableMap(new LinkedHashMap<>(provenance));
        classNames = List.copyOf(classNames);
        classExpert = List.copyOf(classExpert);
        for (ClassExpertCounts m : classExpert) {
            if (!classNames.isEmpty() && m.classes() != classNames.size()) {
                throw new Moe4jException("report: layer " + m.layer() + " has " + m.classes() + " class rows but "
                        + classNames.size() + " class names were given");
            }
        }
    }

    /** A report with only a title (the metrics carry the rest). */
    public static ReportInput titled(String title) {
        return new ReportInput(title, Map.of(), Map.of(), List.of(), List.of());
    }

    /** The name of class {@code c}, or "class c" when none was given. */
    public String className(int c) {
        return c < classNames.size() ? classNames.get(c) : "class " + c;
    }

    /** A copy with other class x expert matrices. */
    public ReportInput withClassExpert(List<ClassExpertCounts> matrices) {
        return new ReportInput(title, config, provenance, classNames, new ArrayList<>(matrices), unit, expertTokens);
    }

    /** A copy whose throughput counts {@code what} ("tokens"). */
    public ReportInput withUnit(String what) {
        return new ReportInput(title, config, provenance, classNames, classExpert, what, expertTokens);
    }

    /** A copy with each MoE layer's experts' preferred tokens. */
    public ReportInput withExpertTokens(List<ExpertTokens> tokens) {
        return new ReportInput(title, config, provenance, classNames, classExpert, unit, tokens);
    }
}
