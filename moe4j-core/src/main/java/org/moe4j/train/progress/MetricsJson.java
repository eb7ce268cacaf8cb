package org.moe4j.train.progress;

import java.util.List;
import java.util.Map;
import org.moe4j.common.Moe4jException;
import org.moe4j.moe.RouterStats;
import org.moe4j.train.progress.MetricsRecord.Eval;
import org.moe4j.train.progress.MetricsRecord.Routing;
import org.moe4j.train.progress.MetricsRecord.Step;
import org.moe4j.train.progress.MetricsRecord.Summary;

/** The metrics log's line format: one JSON object per record, with a leading "type" field. */
final class MetricsJson {
    private MetricsJson() {}

    /** The record as one line of JSON (no newline). Numbers are written exactly; NaN becomes null. */
    static String toJson(MetricsRecord r) {
        return switch (r) {
            case Step s -> {
                Json.Writer w = new Json.Writer().put("type", "step").put("step", s.step()).put("epoch", s.epoch())
                        .put("loss", s.loss()).put("accuracy", s.accuracy()).put("lr", s.learningRate())
                        .put("itemsPerSecond", s.itemsPerSecond()).put("elapsedSeconds", s.elapsedSeconds())
                        .put("auxLoss", s.auxLoss());
                if (!Double.isNaN(s.bitsPerByte())) w.put("bitsPerByte", s.bitsPerByte());
                yield w.toString();
            }
            case Eval e -> {
                Json.Writer w = new Json.Writer().put("type", "eval").put("step", e.step()).put("epoch", e.epoch())
                        .put("split", e.split()).put("loss", e.loss()).put("accuracy", e.accuracy());
                if (!Double.isNaN(e.bitsPerByte())) w.put("bitsPerByte", e.bitsPerByte());
                yield w.toString();
            }
            case Routing g -> {
                StringBuilder layers = new StringBuilder("[");
                for (int i = 0; i < g.layers().size(); i++) layers.append(i > 0 ? "," : "").append(routerStats(g.layers().get(i)));
                yield new Json.Writer().put("type", "router").put("step", g.step()).raw("layers", layers + "]").toString();
            }
            case Summary s -> {
                Json.Writer w = new Json.Writer().put("type", "summary").put("step", s.step()).put("epochs", s.epochs())
                        .put("elapsedSeconds", s.elapsedSeconds()).put("itemsPerSecond", s.itemsPerSecond())
                        .put("trainLoss", s.trainLoss()).put("evalLoss", s.evalLoss()).put("evalAccuracy", s.evalAccuracy());
                if (!Double.isNaN(s.evalBitsPerByte())) w.put("evalBitsPerByte", s.evalBitsPerByte());
                yield w.put("status", s.status()).toString();
            }
        };
    }

    /**
     * The same fields as {@link RouterStats#toJson} (raw counts and derived figures, for jq users), but with
     * every number exact so that the log reads back to equal stats.
     */
    private static String routerStats(RouterStats s) {
        Json.Writer w = new Json.Writer().put("layer", s.layer()).put("tokens", s.tokens()).put("experts", s.experts())
                .raw("routed", longs(s.routed())).raw("dropped", longs(s.dropped())).raw("share", doubles(s.share()))
                .put("dropRate", s.dropRate()).put("meanEntropy", s.meanEntropy()).put("loadCv", s.loadCv())
                .put("maxOverMean", s.maxOverMean()).put("entropySum", s.entropySum()).put("entropyCount", s.entropyCount());
        if (s.bias() != null) w.raw("bias", doubles(s.bias()));
        return w.toString();
    }

    private static String longs(long[] v) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) sb.append(i > 0 ? "," : "").append(v[i]);
        return sb.append(']').toString();
    }

    private static String doubles(double[] v) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) sb.append(i > 0 ? "," : "").append(Json.number(v[i]));
        return sb.append(']').toString();
    }

    /**
     * Reads one line written by {@link #toJson}; null for a record type this version does not know, so that an
     * older reader skips what a newer trainer adds.
     *
     * @throws IllegalArgumentException when the line is not a metrics record
     */
    static MetricsRecord fromJson(String line) {
        if (!(Json.parse(line) instanceof Map<?, ?> m)) throw new IllegalArgumentException("not a JSON object");
        Fields f = new Fields(m);
        return switch (f.string("type")) {
            case "step" -> new Step(f.integer("step"), (int) f.integer("epoch"), f.number("loss"), f.number("accuracy"),
                    f.number("lr"), f.number("itemsPerSecond"), f.number("elapsedSeconds"), f.number("auxLoss"),
                    f.number("bitsPerByte"));
            case "eval" -> new Eval(f.integer("step"), (int) f.integer("epoch"), f.string("split"), f.number("loss"),
                    f.number("accuracy"), f.number("bitsPerByte"));
            case "router" -> new Routing(f.integer("step"), f.list("layers").stream().map(MetricsJson::routerStats).toList());
            case "summary" -> new Summary(f.integer("step"), (int) f.integer("epochs"), f.number("elapsedSeconds"),
                    f.number("itemsPerSecond"), f.number("trainLoss"), f.number("evalLoss"), f.number("evalAccuracy"),
                    f.string("status"), f.number("evalBitsPerByte"));
            default -> null;
        };
    }

    private static RouterStats routerStats(Object o) {
        if (!(o instanceof Map<?, ?> map)) throw new IllegalArgumentException("a router layer is not an object");
        Fields f = new Fields(map);
        double[] bias = null;
        if (map.get("bias") != null) {
            List<?> b = f.list("bias");
            bias = new double[b.size()];
            for (int i = 0; i < bias.length; i++) bias[i] = b.get(i) instanceof Number n ? n.doubleValue() : Double.NaN;
        }
        double entropySum = f.number("entropySum");
        try {
            return new RouterStats(f.string("layer"), f.integer("tokens"), f.longs("routed"), f.longs("dropped"),
                    Double.isNaN(entropySum) ? 0 : entropySum, f.integer("entropyCount"), bias);
        } catch (Moe4jException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** Typed access to a parsed object's fields, with messages that name the missing or mistyped field. */
    private record Fields(Map<?, ?> m) {
        String string(String key) {
            if (m.get(key) instanceof String s) return s;
            throw new IllegalArgumentException("field \"" + key + "\" is missing or not a string");
        }

        long integer(String key) {
            if (m.get(key) instanceof Long l) return l;
            throw new IllegalArgumentException("field \"" + key + "\" is missing or not an integer");
        }

        /** Absent and null both read as NaN. */
        double number(String key) {
            Object v = m.get(key);
            if (v == null) return Double.NaN;
            if (v instanceof Number n) return n.doubleValue();
            throw new IllegalArgumentException("field \"" + key + "\" is not a number");
        }

        List<?> list(String key) {
            if (m.get(key) instanceof List<?> l) return l;
            throw new IllegalArgumentException("field \"" + key + "\" is missing or not an array");
        }

        long[] longs(String key) {
            List<?> l = list(key);
            long[] out = new long[l.size()];
            for (int i = 0; i < out.length; i++) {
                if (!(l.get(i) instanceof Long v)) throw new IllegalArgumentException("\"" + key + "\" holds a non-integer");
                out[i] = v;
            }
            return out;
        }
    }
}
