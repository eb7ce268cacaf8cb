package org.moe4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvTest {
    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text, StandardCharsets.UTF_8);
        return f;
    }

    @Test
    void stringClassesAreNumberedInSortedOrder() throws IOException {
        Path f = write("iris.csv", "sepal,species,petal\n1.5,virginica,2\n-3e2,setosa,.5\n4,versicolor,+6\n7.25,setosa,8\n");
        Csv.Table t = Csv.read(f, "species");
        assertArrayEquals(new int[] {4, 2}, t.features().shape());
        assertArrayEquals(new float[] {1.5f, 2, -300, 0.5f, 4, 6, 7.25f, 8}, t.features().toFloatArray());
        assertEquals(List.of("setosa", "versicolor", "virginica"), t.classNames());
        assertArrayEquals(new int[] {2, 0, 1, 0}, t.labels().data());
        assertEquals(List.of("sepal", "petal"), t.featureNames());
    }

    @Test
    void rowOrderDoesNotChangeTheClassIndices() throws IOException {
        Csv.Table a = Csv.read(write("a.csv", "x,y\n1,cat\n2,dog\n3,ant\n"), "y");
        Csv.Table b = Csv.read(write("b.csv", "x,y\n3,ant\n2,dog\n1,cat\n"), "y");
        assertEquals(a.classNames(), b.classNames());
        assertArrayEquals(new int[] {1, 2, 0}, a.labels().data());
        assertArrayEquals(new int[] {0, 2, 1}, b.labels().data());
    }

    @Test
    void integerLabelsAreTheClassIndices() throws IOException {
        Csv.Table t = Csv.read(write("int.csv", "label,a\n3,1\n0,2\n3,3\n"), "label");
        assertArrayEquals(new int[] {3, 0, 3}, t.labels().data());
        assertEquals(List.of("0", "1", "2", "3"), t.classNames());
    }

    @Test
    void knownClassesMapASecondFileLikeTheFirst() throws IOException {
        Csv.Table test = Csv.read(write("test.csv", "x,y\n1,dog\n"), "y", List.of("ant", "cat", "dog"));
        assertArrayEquals(new int[] {2}, test.labels().data());
        assertEquals(List.of("ant", "cat", "dog"), test.classNames());
        DataFormatException e = assertThrows(DataFormatException.class,
                () -> Csv.read(write("new.csv", "x,y\n1,dog\n2,emu\n"), "y", List.of("ant", "cat", "dog")));
        assertEquals("line 3, column 2 (\"y\")", e.field());
        assertTrue(e.getMessage().contains("\"emu\""), e.getMessage());
    }

    @Test
    void quotedFieldsFollowRfc4180() throws IOException {
        String text = "\uFEFF\"a, the first\",\"label\"\r\n"
                + "\"1.5\",\"big, \"\"red\"\"\r\nfox\"\r\n"
                + "\r\n" // blank lines are skipped
                + " 2 ,\"ant\"\r\n"
                + "3,plain"; // no line break at the end
        Csv.Table t = Csv.read(write("q.csv", text), "label");
        assertEquals(List.of("a, the first"), t.featureNames());
        assertArrayEquals(new float[] {1.5f, 2, 3}, t.features().toFloatArray());
        assertEquals(List.of("ant", "big, \"red\"\r\nfox", "plain"), t.classNames());
        assertArrayEquals(new int[] {1, 0, 2}, t.labels().data());
    }

    @Test
    void emptyQuotedLabelIsAnErrorWithItsLine() throws IOException {
        String text = "a,label\n\"1.5\",\"multi\nline\"\n2,\"\"\n";
        DataFormatException e = assertThrows(DataFormatException.class, () -> Csv.read(write("q.csv", text), "label"));
        assertEquals("line 4, column 2 (\"label\")", e.field(), "the quoted line break counts as a line");
    }

    // ---- errors, each with the line and the column -----------------------------------------------------------

    private DataFormatException bad(String text, String field, String... phrases) throws IOException {
        Path f = write("bad.csv", text);
        DataFormatException e = assertThrows(DataFormatException.class, () -> Csv.read(f, "label"));
        assertEquals(f.toString(), e.file());
        assertEquals(field, e.field(), e.getMessage());
        for (String p : phrases) assertTrue(e.getMessage().contains(p), "expected \"" + p + "\" in: " + e.getMessage());
        return e;
    }

    @Test
    void missingLabelColumnListsTheColumns() throws IOException {
        bad("a,b\n1,2\n", "line 1 (header)", "no column named \"label\"", "[a, b]", "csv:FILE:b");
        bad("1,2\n3,4\n", "line 1 (header)", "looks like data: add a header row");
    }

    @Test
    void wrongFieldCount() throws IOException {
        bad("a,label\n1,x\n2,y,3\n", "line 3", "3 fields, but the header has 2 columns");
    }

    @Test
    void nonNumericFeature() throws IOException {
        bad("a,b,label\n1,2,x\n3,abc,y\n", "line 3, column 2 (\"b\")", "\"abc\" is not a number");
        bad("a,label\n0x1F,x\n", "line 2, column 1 (\"a\")", "not a number");
        bad("a,label\nNaN,x\n", "line 2, column 1 (\"a\")", "not a number");
    }

    @Test
    void emptyFeature() throws IOException {
        bad("a,b,label\n1,,x\n", "line 2, column 2 (\"b\")", "empty value", "missing values");
    }

    @Test
    void featureBeyondFloatRange() throws IOException {
        bad("a,label\n1e39,x\n", "line 2, column 1 (\"a\")", "beyond the float range");
    }

    @Test
    void unterminatedQuote() throws IOException {
        bad("a,label\n1,x\n2,\"open\n3,y\n", "line 3, character 3", "never closed");
    }

    @Test
    void quoteInsideUnquotedField() throws IOException {
        bad("a,label\n1,ab\"c\n", "line 2, character 5", "quote inside an unquoted field");
    }

    @Test
    void textAfterClosingQuote() throws IOException {
        bad("a,label\n1,\"ab\"c\n", "line 2, character 7", "'c' after a closing quote");
    }

    @Test
    void duplicateColumnNames() throws IOException {
        bad("a,a,label\n1,2,x\n", "line 1 (header)", "columns 1 and 2 are both named \"a\"");
    }

    @Test
    void emptyFileAndHeaderOnly() throws IOException {
        bad("", "line 1", "empty", "header row");
        bad("a,label\n", "line 2", "no rows");
        bad("label\nx\n", "line 1 (header)", "only column is the label");
    }

    @Test
    void hugeIntegerLabelLooksLikeAnIdColumn() throws IOException {
        bad("a,label\n1,0\n2,987654\n", "line 3, column 2 (\"label\")", "987654", "really the label column");
    }

    @Test
    void invalidUtf8() throws IOException {
        Path f = dir.resolve("latin1.csv");
        Files.write(f, new byte[] {'a', ',', 'l', 'a', 'b', 'e', 'l', '\n', '1', ',', (byte) 0xE9, '\n'});
        DataFormatException e = assertThrows(DataFormatException.class, () -> Csv.read(f, "label"));
        assertTrue(e.getMessage().contains("UTF-8"), e.getMessage());
    }
}
