package org.moe4j.train.data;

import java.nio.file.Path;
import java.util.Optional;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.Csv;

/**
 * Where training data comes from, as written on the command line ({@code --data SPEC}):
 * <ul>
 *   <li>{@code fashion-mnist} (looked up, see {@link FashionMnist#locate}) or {@code fashion-mnist:DIR};
 *   <li>{@code csv:FILE} or {@code csv:FILE:LABEL_COLUMN} (default column {@value #DEFAULT_LABEL_COLUMN});
 *   <li>{@code bundled:fashion-mnist-small}, the small subset inside moe4j-core.
 * </ul>
 */
public sealed interface DataSpec {
    String DEFAULT_LABEL_COLUMN = "label";

    /** Reads the data. */
    DataSplits load();

    /** Fashion-MNIST from {@code dir}, or from the standard places when empty. */
    record FashionMnistFiles(Optional<Path> dir) implements DataSpec {
        @Override
        public DataSplits load() {
            return FashionMnist.load(FashionMnist.locate(dir.orElse(null)));
        }

        @Override
        public String toString() {
            return "fashion-mnist" + dir.map(d -> ":" + d).orElse("");
        }
    }

    /** A CSV file with a header row and the labels in {@code labelColumn}; no separate test split. */
    record CsvFile(Path file, String labelColumn) implements DataSpec {
        @Override
        public DataSplits load() {
            Csv.Table t = Csv.read(file, labelColumn);
            return new DataSplits(new Dataset(t.features(), t.labels(), t.classNames()), Optional.empty(), toString());
        }

        @Override
        public String toString() {
            return "csv:" + file + ":" + labelColumn;
        }
    }

    /** A dataset bundled in moe4j-core's resources. */
    record Bundled(String name) implements DataSpec {
        public Bundled {
            if (!name.equals(FashionMnist.BUNDLED)) {
                throw new Moe4jException("no bundled dataset \"" + name + "\"; the bundled one is bundled:"
                        + FashionMnist.BUNDLED);
            }
        }

        @Override
        public DataSplits load() {
            return FashionMnist.loadBundled();
        }

        @Override
        public String toString() {
            return "bundled:" + name;
        }
    }

    /** Parses a {@code --data} value; an unknown form raises a message listing the known ones. */
    static DataSpec parse(String spec) {
        String s = spec == null ? "" : spec.strip();
        int colon = s.indexOf(':');
        String kind = colon < 0 ? s : s.substring(0, colon);
        String rest = colon < 0 ? "" : s.substring(colon + 1);
        switch (kind) {
            case "fashion-mnist" -> {
                return new FashionMnistFiles(rest.isEmpty() ? Optional.empty() : Optional.of(Path.of(rest)));
            }
            case "csv" -> {
                if (rest.isEmpty()) throw bad(spec, "csv: needs a file, as in csv:data.csv or csv:data.csv:species");
                // The label column follows the last ':' unless that part looks like a path (or a drive letter before it).
                int last = rest.lastIndexOf(':');
                String column = last < 0 ? "" : rest.substring(last + 1);
                boolean hasColumn = last > 1 && !column.isEmpty() && column.indexOf('/') < 0 && column.indexOf('\\') < 0;
                return hasColumn ? new CsvFile(Path.of(rest.substring(0, last)), column)
                        : new CsvFile(Path.of(rest), DEFAULT_LABEL_COLUMN);
            }
            case "bundled" -> {
                return new Bundled(rest);
            }
            case "text" -> throw bad(spec, "text data trains language models: use --model moe-lm or dense-lm");
            default -> throw bad(spec, "unknown kind \"" + kind + "\"");
        }
    }

    private static Moe4jException bad(String spec, String problem) {
        return new Moe4jException("--data " + spec + ": " + problem + "; use fashion-mnist[:DIR], csv:FILE[:LABEL_COLUMN]"
                + " or bundled:" + FashionMnist.BUNDLED);
    }
}
