package org.moe4j.train.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Moe4jException;
import org.moe4j.moe.RouterStats;
import org.moe4j.train.progress.MetricsHistory;
import org.moe4j.train.progress.MetricsLog;
import org.moe4j.train.progress.MetricsRecord;
import org.moe4j.train.progress.MetricsRecord.Eval;
import org.moe4j.train.progress.MetricsRecord.Routing;
import org.moe4j.train.progress.MetricsRecord.Step;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

class HtmlReportTest {
    @TempDir
    Path dir;

    /** Parses the page as XML: unbalanced tags, stray '&amp;' or '&lt;' and bad attributes all fail here. */
    static Document parse(String html) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", false);
        f.setExpandEntityReferences(false);
        return f.newDocumentBuilder().parse(new InputSource(new StringReader(html)));
    }

    static List<Element> elements(Document d, String namespace, String name) {
        NodeList nodes = d.getElementsByTagNameNS(namespace, name);
        List<Element> out = new ArrayList<>();
        for (int i = 0; i < nodes.getLength(); i++) out.add((Element) nodes.item(i));
        return out;
    }

    static final String SVG = "http://www.w3.org/2000/svg", XHTML = "http://www.w3.org/1999/xhtml";

    /** No coordinate or figure may be NaN or infinite, and every number attribute must parse. */
    static void assertNumbersSane(String html) {
        assertFalse(html.contains("NaN"), "NaN in the page");
        assertFalse(html.contains("Infinity"), "Infinity in the page");
        Matcher m = Pattern.compile("\\s(x|y|x1|x2|y1|y2|cx|cy|r|width|height)=\"([^\"]*)\"").matcher(html);
        int seen = 0;
        while (m.find()) {
            if (m.group(2).isEmpty()) throw new AssertionError("empty " + m.group(1));
            Double.parseDouble(m.group(2));
            seen++;
        }
        Matcher pts = Pattern.compile("points=\"([^\"]*)\"").matcher(html);
        while (pts.find()) {
            for (String xy : pts.group(1).split(" ")) {
                String[] p = xy.split(",");
                assertEquals(2, p.length, "point " + xy);
                Double.parseDouble(p[0]);
                Double.parseDouble(p[1]);
            }
        }
        assertTrue(seen > 0, "no coordinates at all");
    }

    @Test
    void aFullRunGivesAWellFormedPageWithEveryChart() throws Exception {
        String html = HtmlReport.render(SampleRun.metrics(7, 300, 8, 1), SampleRun.input(8, 2));
        Document d = parse(html);
        assertEquals("html", d.getDocumentElement().getLocalName());
        List<Element> svgs = elements(d, SVG, "svg");
        // Loss, accuracy, lr, aux; per layer (2) load + heatmap; drop, entropy, CV.
        assertEquals(4 + 2 * 2 + 3, svgs.size(), "charts");
        for (String caption : List.of("Loss", "Accuracy", "Learning rate", "Auxiliary loss", "Expert load over training",
                "Class \u00d7 expert", "Drop rate", "Router entropy", "Load imbalance", "Configuration", "Provenance")) {
            assertTrue(html.contains("<figcaption>" + caption), caption);
        }
        assertNumbersSane(html);
        assertFalse(html.contains("<script"), "no scripts");
        assertFalse(Pattern.compile("(src|href)=").matcher(html).find(), "no external files");
        // Figures from the data: the final test accuracy, class names, config values, per-cell tooltips.
        assertTrue(html.contains("92.71%"), "test accuracy tile");
        assertTrue(html.contains(">Ankle boot<"), "class names label the heatmap rows");
        assertTrue(html.contains("T-shirt/top \u2192 expert 0: "), "cell tooltips");
        assertTrue(html.contains("AdamW lr 1e-3"), "configuration");
        assertTrue(html.contains("Species[float, 16, S_512_BIT]"), "provenance");
        assertTrue(html.contains("uniform over 8 experts: ln 8 = 2.08"), "the entropy reference line");
        // Heatmap: 10 classes x 8 experts per layer, each cell with a title.
        long cells = elements(d, SVG, "rect").stream().filter(r -> r.getAttribute("class").equals("cell")).count();
        assertEquals(2 * 10 * 8, cells);
        // Expert load: 2100 steps logged every 25 = 84 windows x 8 experts per layer, each band titled.
        long bands = elements(d, SVG, "rect").stream()
                .filter(r -> r.getParentNode() instanceof Element g && g.getAttribute("class").equals("stack")).count();
        assertEquals(2 * 84 * 8, bands);
        assertTrue(html.contains("expert 3, steps 26\u201350: "), "band tooltips name expert and window");
    }

    @Test
    void hostileStringsAreEscapedEverywhere() throws Exception {
        String evil = "<script>alert('x')</script>&\"";
        String unencodable = "bell\u0007 lone\uD800 surrogate";
        int experts = 3;
        long[][] counts = {{5, 1, 0}, {0, 2, 9}};
        ReportInput input = new ReportInput(evil, Map.of(evil, evil), Map.of("k", evil), List.of(evil, unencodable),
                List.of(new ClassExpertCounts(evil, counts)));
        List<MetricsRecord> records = List.of(
                new Step(1, 1, 1.0, 0.5, 1e-3, 10, 1, 0),
                new Step(2, 1, 0.9, 0.6, 1e-3, 10, 2, 0),
                new Routing(2, List.of(new RouterStats(evil, 4, new long[] {2, 1, 1}, new long[experts], 2, 4, null))),
                new Eval(2, 1, evil, 0.8, 0.7, Double.NaN),
                new MetricsRecord.Summary(2, 1, 2, 10, 0.9, 0.8, 0.7, evil));
        String html = HtmlReport.render(MetricsHistory.of(records), input);
        assertFalse(html.contains("<script"), "a data string became markup");
        assertFalse(html.contains("alert('x')"), "quotes inside attributes are escaped too");
        assertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"));
        Document d = parse(html); // a control character or a lone surrogate would make this throw
        assertTrue(html.contains("bell\uFFFD lone\uFFFD surrogate"));
        assertTrue(d.getElementsByTagNameNS(XHTML, "title").item(0).getTextContent().startsWith(evil),
                "the page title reads back as the literal text");
        assertNumbersSane(html);
    }

    @Test
    void aOnePointRunWithoutRouterLayersStillDrawsCleanly() throws Exception {
        MetricsHistory one = MetricsHistory.of(List.of(new Step(1, 1, 2.3, Double.NaN, 1e-3, 100, 0.1, 0)));
        String html = HtmlReport.render(one, ReportInput.titled("one step"));
        Document d = parse(html);
        assertNumbersSane(html);
        assertTrue(html.contains("No MoE layer reported its routing"));
        assertFalse(html.contains("Router health"), "no router charts without router records");
        assertTrue(html.contains("class=\"dot\""), "the lone point is drawn as a dot");
        assertTrue(html.contains("no accuracy recorded"), "an empty chart says so");
        assertEquals(3, elements(d, SVG, "svg").size(), "loss, accuracy (empty), learning rate");
    }

    @Test
    void anEmptyLogGivesAPageOfPlaceholders() throws Exception {
        String html = HtmlReport.render(MetricsHistory.empty(), ReportInput.titled("nothing yet"));
        parse(html);
        assertNumbersSane(html);
        assertTrue(html.contains("no training steps recorded"));
        assertTrue(html.contains("none recorded"), "empty configuration table");
    }

    @Test
    void degenerateRoutingIsDrawnWithoutBrokenNumbers() throws Exception {
        // One routing record, an expert that never gets a token, a window with no tokens, equal values everywhere.
        List<MetricsRecord> records = List.of(
                new Step(5, 1, 1.0, 1.0, 0, 0, 0, 0),
                new Step(6, 1, 1.0, 1.0, 0, 0, 0, 0),
                new Routing(6, List.of(new RouterStats("moe", 0, new long[4], new long[4], 0, 0, null))),
                new Routing(7, List.of(new RouterStats("moe", 8, new long[] {8, 0, 0, 0}, new long[4], 0, 8, null))));
        long[][] counts = {{0, 0, 0, 0}, {3, 0, 0, 1}};
        ReportInput input = new ReportInput("edge", Map.of(), Map.of(), List.of(), List.of(new ClassExpertCounts("moe", counts)));
        String html = HtmlReport.render(MetricsHistory.of(records), input);
        parse(html);
        assertNumbersSane(html);
        assertTrue(html.contains("no tokens routed"));
        assertTrue(html.contains("class 0: no tokens of this class were routed"), "default class names and empty rows");
    }

    @Test
    void manyExpertsAndALongRunStayCompact() throws Exception {
        String html = HtmlReport.render(SampleRun.metrics(2, 2000, 64, 3), SampleRun.input(64, 4));
        Document d = parse(html);
        // 160 routing windows per layer are merged into 46 columns, to keep about 3000 bands.
        long bands = elements(d, SVG, "rect").stream()
                .filter(r -> r.getParentNode() instanceof Element g && g.getAttribute("class").equals("stack")).count();
        assertTrue(bands > 2 * 46 * 60 && bands <= 2 * StackedShareChart.MAX_BANDS, "bands " + bands);
        assertNumbersSane(html);
        assertTrue(html.length() < 1_600_000, "page size " + html.length());
        assertTrue(html.contains("hover a band to see which it is"), "no 64-swatch legend");
    }

    @Test
    void writesThroughTheLogAndReplacesAtomically() throws IOException {
        Path log = dir.resolve("metrics.jsonl");
        MetricsHistory sample = SampleRun.metrics(2, 50, 4, 5);
        try (MetricsLog out = MetricsLog.create(log)) {
            sample.steps().forEach(out::write);
            sample.routing().forEach(out::write);
            sample.evals().forEach(out::write);
        }
        Path page = dir.resolve("out/report.html");
        HtmlReport.write(page, MetricsLog.read(log), ReportInput.titled("from the log"));
        String html = Files.readString(page);
        assertTrue(html.startsWith("<!DOCTYPE html>"));
        assertTrue(html.contains("from the log"));
        assertFalse(Files.exists(dir.resolve("out/report.html.tmp")));
        assertTrue(html.contains("in progress or interrupted"), "no summary record yet");
    }

    @Test
    void inputValidation() {
        assertThrows(Moe4jException.class, () -> new ClassExpertCounts("l", new long[][] {{1, 2}, {3}}));
        assertThrows(Moe4jException.class, () -> new ClassExpertCounts("l", new long[][] {{1, -2}}));
        assertThrows(Moe4jException.class, () -> new ReportInput("t", Map.of(), Map.of(), List.of("a"),
                List.of(new ClassExpertCounts("l", new long[][] {{1}, {2}}))));
    }

    /** Writes sample pages to target/report-samples for a person (or a headless browser) to look at. */
    @Test
    void writeSamplesForInspection() {
        Path out = Path.of("target", "report-samples");
        HtmlReport.write(out.resolve("full.html"), SampleRun.metrics(7, 300, 8, 1), SampleRun.input(8, 2));
        HtmlReport.write(out.resolve("wide.html"), SampleRun.metrics(3, 400, 32, 3), SampleRun.input(32, 4));
        HtmlReport.write(out.resolve("empty.html"), MetricsHistory.empty(), ReportInput.titled("nothing yet"));
        HtmlReport.write(out.resolve("one.html"), MetricsHistory.of(List.of(new Step(1, 1, 2.3, 0.1, 1e-3, 100, 0.1, 0),
                new Routing(1, List.of(new RouterStats("moe", 64, new long[] {30, 20, 14, 0}, new long[4], 80, 64, null))),
                new Eval(1, 1, "validation", 2.2, 0.12, Double.NaN))), ReportInput.titled("one step"));
        assertTrue(Files.exists(out.resolve("full.html")));
    }
}
