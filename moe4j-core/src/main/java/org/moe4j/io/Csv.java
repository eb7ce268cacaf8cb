package org.moe4j.io;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * A classification table in CSV: a header row naming the columns, one of which holds the label; every other column
 * is a numeric feature. Fields follow RFC 4180: separated by commas, records ended by CRLF or LF, a field may be
 * quoted with {@code "} (then it may hold commas, line breaks, and quotes doubled as {@code ""}). Header names and
 * unquoted values are trimmed of surrounding spaces; blank lines are skipped; a UTF-8 byte-order mark is ignored.
 *
 * <p>Labels: if every label is a non-negative integer below {@value #MAX_INTEGER_CLASSES}, the integers are the
 * class indices and the class names are {@code "0" .. "max"}. Otherwise the labels are class names, numbered in
 * sorted (lexicographic) order, not order of first appearance: the mapping then does not depend on the order of the
 * rows, so a shuffled copy, or a test file with the same classes, maps every class to the same index. To map a
 * second file exactly like a first, pass the first file's class names as {@code knownClasses}.
 *
 * <p>Errors raise {@link DataFormatException} naming the line (of the record's first character) and the column, by
 * number and header name.
 */
public final class Csv {
    private Csv() {}

    /** Integer labels at or above this are taken for a mistake (an id column chosen as the label). */
    public static final int MAX_INTEGER_CLASSES = 1 << 16;

    private static final Pattern NUMBER = Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?");
    private static final Pattern INTEGER = Pattern.compile("\\d{1,9}");

    /**
     * A parsed table: features [n, f] in the order of the file's columns (the label column left out), labels [n],
     * the class names (index = label), and the feature columns' names.
     */
    public record Table(Tensor features, IntTensor labels, List<String> classNames, List<String> featureNames) {
        public Table {
            classNames = List.copyOf(classNames);
            featureNames = List.copyOf(featureNames);
        }
    }

    /** Reads {@code file} (UTF-8) with labels in the column named {@code labelColumn}. */
    public static Table read(Path file, String labelColumn) {
        return read(file, labelColumn, null);
    }

    /**
     * Reads {@code file} (UTF-8); when {@code knownClasses} is not null, labels are looked up in it (index = position),
     * and a label not in it is an error.
     */
    public static Table read(Path file, String labelColumn, List<String> knownClasses) {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return read(in, file.toString(), labelColumn, knownClasses);
        } catch (CharacterCodingException e) {
            throw new DataFormatException(file.toString(), "encoding", "the file is not valid UTF-8",
                    "save it as UTF-8 text", e);
        } catch (NoSuchFileException e) {
            throw new Moe4jException(file + ": no such file", e);
        } catch (IOException e) {
            throw new Moe4jException(file + ": cannot read: " + e, e);
        }
    }

    /** Reads CSV text from {@code in}; {@code name} is used in messages. */
    public static Table read(Reader in, String name, String labelColumn, List<String> knownClasses) throws IOException {
        Tokenizer tok = new Tokenizer(in, name);
        List<String> header = new ArrayList<>();
        if (!tok.next(header)) {
            throw new DataFormatException(name, "line 1", "the file is empty", "a header row naming the columns is required");
        }
        for (int i = 0; i < header.size(); i++) header.set(i, header.get(i).strip());
        int labelAt = header.indexOf(labelColumn);
        if (labelAt < 0) {
            boolean looksNumeric = header.stream().allMatch(h -> NUMBER.matcher(h).matches());
            throw new DataFormatException(name, "line " + tok.recordLine + " (header)", "no column named \"" + labelColumn
                    + "\"; the columns are " + header, looksNumeric ? "the first row looks like data: add a header row "
                    + "naming the columns" : "name the label column, e.g. csv:FILE:" + header.getLast());
        }
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < header.size(); i++) {
            Integer before = seen.put(header.get(i), i);
            if (before != null) {
                throw new DataFormatException(name, "line " + tok.recordLine + " (header)", "columns " + (before + 1)
                        + " and " + (i + 1) + " are both named \"" + header.get(i) + "\"", "give every column its own name");
            }
        }
        int width = header.size();
        int f = width - 1;
        if (f == 0) {
            throw new DataFormatException(name, "line " + tok.recordLine + " (header)", "the only column is the label",
                    "add at least one feature column");
        }
        List<String> featureNames = new ArrayList<>(header);
        featureNames.remove(labelAt);

        float[] values = new float[Math.multiplyExact(f, 1024)]; // [rows, f], grown as rows arrive
        List<String> rawLabels = new ArrayList<>();
        List<Integer> labelLines = new ArrayList<>();
        List<String> fields = new ArrayList<>();
        int rows = 0;
        while (tok.next(fields)) {
            if (fields.size() != width) {
                throw new DataFormatException(name, "line " + tok.recordLine, fields.size() + " fields, but the header "
                        + "has " + width + " columns", "give every row one value per column (quote fields that contain "
                        + "commas)");
            }
            int base = Math.multiplyExact(rows, f);
            if (base + f > values.length) {
                values = Arrays.copyOf(values, (int) Math.min(Integer.MAX_VALUE - 8, 2L * values.length + f));
                if (base + f > values.length) {
                    throw new DataFormatException(name, "line " + tok.recordLine, "more than " + rows + " rows of " + f
                            + " features do not fit one tensor (2^31-1 values)", "split the file");
                }
            }
            int k = 0;
            for (int c = 0; c < width; c++) {
                if (c == labelAt) continue;
                values[base + k++] = parseFeature(fields.get(c), name, tok.recordLine, c, header);
            }
            String label = fields.get(labelAt).strip();
            if (label.isEmpty()) {
                throw new DataFormatException(name, where(tok.recordLine, labelAt, header), "the label is empty",
                        "give every row a label");
            }
            rawLabels.add(label);
            labelLines.add(tok.recordLine);
            rows++;
        }
        if (rows == 0) {
            throw new DataFormatException(name, "line " + (tok.recordLine + 1), "the file has a header but no rows",
                    "add data rows below the header");
        }
        int[] labels = new int[rows];
        List<String> classNames = classes(rawLabels, labelLines, knownClasses, labels, name, labelAt, header);
        return new Table(Tensor.of(Arrays.copyOf(values, rows * f), rows, f), new IntTensor(labels, new int[] {rows}),
                classNames, featureNames);
    }

    private static List<String> classes(List<String> raw, List<Integer> lines, List<String> known, int[] out,
            String name, int labelAt, List<String> header) {
        int n = raw.size();
        if (known != null) {
            Map<String, Integer> index = new HashMap<>();
            for (int i = 0; i < known.size(); i++) index.put(known.get(i), i);
            for (int r = 0; r < n; r++) {
                Integer c = index.get(raw.get(r));
                if (c == null) {
                    throw new DataFormatException(name, where(lines.get(r), labelAt, header), "class \"" + raw.get(r)
                            + "\" is not one of the known classes " + known, "use only the classes of the training data");
                }
                out[r] = c;
            }
            return known;
        }
        if (raw.stream().allMatch(s -> INTEGER.matcher(s).matches())) {
            int max = 0;
            for (int r = 0; r < n; r++) {
                out[r] = Integer.parseInt(raw.get(r));
                if (out[r] >= MAX_INTEGER_CLASSES) {
                    throw new DataFormatException(name, where(lines.get(r), labelAt, header), "integer label " + out[r]
                            + " is " + MAX_INTEGER_CLASSES + " or more", "labels must be class indices 0, 1, 2, ...; "
                            + "is \"" + header.get(labelAt) + "\" really the label column?");
                }
                max = Math.max(max, out[r]);
            }
            List<String> names = new ArrayList<>(max + 1);
            for (int c = 0; c <= max; c++) names.add(Integer.toString(c));
            return names;
        }
        List<String> names = new ArrayList<>(new TreeSet<>(raw));
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < names.size(); i++) index.put(names.get(i), i);
        for (int r = 0; r < n; r++) out[r] = index.get(raw.get(r));
        return names;
    }

    private static float parseFeature(String field, String name, int line, int column, List<String> header) {
        String s = field.strip();
        if (s.isEmpty()) {
            throw new DataFormatException(name, where(line, column, header), "empty value",
                    "fill in missing values (or drop the row) before training");
        }
        if (!NUMBER.matcher(s).matches()) {
            throw new DataFormatException(name, where(line, column, header), "\"" + abbreviate(s) + "\" is not a number",
                    "feature columns must be numeric; encode categories as numbers, or choose the label column");
        }
        float v = Float.parseFloat(s);
        if (Float.isInfinite(v)) {
            throw new DataFormatException(name, where(line, column, header), s + " is beyond the float range",
                    "rescale the column");
        }
        return v;
    }

    private static String where(int line, int column, List<String> header) {
        return "line " + line + ", column " + (column + 1) + " (\"" + header.get(column) + "\")";
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…";
    }

    /** Splits the input into records of fields, RFC 4180 style, tracking physical line numbers. */
    private static final class Tokenizer {
        private final Reader in;
        private final String name;
        private final char[] buf = new char[1 << 14];
        private int pos;
        private int len;
        private int line = 1; // physical line of the next character
        private int column = 1; // character position in that line
        int recordLine; // line where the last record returned started
        private boolean first = true;
        private final StringBuilder field = new StringBuilder();

        Tokenizer(Reader in, String name) {
            this.in = in;
            this.name = name;
        }

        private int peek() throws IOException {
            if (pos == len) {
                len = in.read(buf, 0, buf.length);
                pos = 0;
                if (len <= 0) {
                    len = 0;
                    return -1;
                }
            }
            return buf[pos];
        }

        private int take() throws IOException {
            int c = peek();
            if (c >= 0) {
                pos++;
                if (c == '\n') {
                    line++;
                    column = 1;
                } else {
                    column++;
                }
            }
            return c;
        }

        /** Fills {@code fields} with the next non-blank record; false at the end of the input. */
        boolean next(List<String> fields) throws IOException {
            if (first) {
                first = false;
                if (peek() == '\uFEFF') {
                    pos++;
                }
            }
            while (true) {
                fields.clear();
                if (peek() < 0) return false;
                recordLine = line;
                boolean blank = true;
                while (true) {
                    boolean quoted = readField();
                    blank &= !quoted && field.toString().isBlank();
                    fields.add(field.toString());
                    int c = take();
                    if (c == ',') {
                        blank = false;
                        continue;
                    }
                    if (c == '\r' && peek() == '\n') take();
                    break; // end of line or input
                }
                if (!(blank && fields.size() == 1)) return true;
            }
        }

        /** Reads one field into {@code field}, stopping before the comma or line end; true if it was quoted. */
        private boolean readField() throws IOException {
            field.setLength(0);
            if (peek() != '"') {
                while (true) {
                    int c = peek();
                    if (c < 0 || c == ',' || c == '\n' || c == '\r') return false;
                    if (c == '"') {
                        throw new DataFormatException(name, "line " + line + ", character " + column, "a quote inside "
                                + "an unquoted field", "quote the whole field and double the quote inside (\"a \"\"b\"\"\")");
                    }
                    field.append((char) take());
                }
            }
            int startLine = line, startColumn = column;
            take();
            while (true) {
                int c = take();
                if (c < 0) {
                    throw new DataFormatException(name, "line " + startLine + ", character " + startColumn, "a quoted "
                            + "field is never closed", "close the quote; a quote inside a quoted field is written \"\"");
                }
                if (c == '"') {
                    if (peek() == '"') {
                        take();
                        field.append('"');
                        continue;
                    }
                    int after = peek();
                    if (after >= 0 && after != ',' && after != '\n' && after != '\r') {
                        throw new DataFormatException(name, "line " + line + ", character " + column, "'" + (char) after
                                + "' after a closing quote", "a quote inside a quoted field is written \"\"");
                    }
                    return true;
                }
                field.append((char) c);
            }
        }
    }
}
