package org.moe4j.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Moe4jException;

class DataSpecTest {
    @TempDir
    Path tmp;

    @Test
    void parsesEveryForm() {
        assertEquals(new DataSpec.FashionMnistFiles(Optional.empty()), DataSpec.parse("fashion-mnist"));
        assertEquals(new DataSpec.FashionMnistFiles(Optional.of(Path.of("/data/fm"))), DataSpec.parse("fashion-mnist:/data/fm"));
        assertEquals(new DataSpec.CsvFile(Path.of("x.csv"), "label"), DataSpec.parse("csv:x.csv"));
        assertEquals(new DataSpec.CsvFile(Path.of("dir/x.csv"), "species"), DataSpec.parse("csv:dir/x.csv:species"));
        assertEquals(new DataSpec.CsvFile(Path.of("C:\\x.csv"), "label"), DataSpec.parse("csv:C:\\x.csv"));
        assertEquals(new DataSpec.Bundled("fashion-mnist-small"), DataSpec.parse("bundled:fashion-mnist-small"));
        assertEquals("csv:dir/x.csv:species", DataSpec.parse("csv:dir/x.csv:species").toString());
    }

    @Test
    void unknownFormsListTheKnownOnes() {
        for (String bad : new String[] {"mnist:/x", "csv:", "", "bundled:cifar"}) {
            Moe4jException e = assertThrows(Moe4jException.class, () -> DataSpec.parse(bad));
            assertTrue(e.getMessage().contains("fashion-mnist"), bad + " -> " + e.getMessage());
        }
    }

    @Test
    void loadsACsvWithoutATestSplit() throws IOException {
        Path f = tmp.resolve("t.csv");
        Files.writeString(f, "a,b,kind\n1,2,x\n3,4,y\n5,6,x\n");
        DataSplits s = DataSpec.parse("csv:" + f + ":kind").load();
        assertEquals(Optional.empty(), s.test());
        assertArrayEquals(new int[] {3, 2}, s.train().features().shape());
        assertEquals(List.of("x", "y"), s.train().classNames());
        assertEquals("csv:" + f + ":kind", s.source());
    }
}
