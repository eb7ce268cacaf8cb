package org.moe4j;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import com.tngtech.archunit.library.Architectures;
import com.tngtech.archunit.library.Architectures.LayeredArchitecture;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The layering from DESIGN.md as a test, so that a wrong arrow fails the build instead of waiting for a review.
 * Bottom-up, each tier may use only the tiers below it; layers within one tier may not use each other.
 * Packages that do not exist yet are optional, so the rule grows with the code.
 */
class ArchitectureTest {
    /** The tiers, bottom-up; each name is a package under the analyzed root. Add a new package here first. */
    static final List<List<String>> TIERS = List.of(
            List.of("common"),
            List.of("tensor"),
            List.of("kernel"),
            List.of("autograd"),
            List.of("nn", "optim"), // optim needs only autograd; nn never drives an optimizer
            List.of("moe"),
            List.of("model"),
            List.of("io"),
            List.of("train", "infer", "compress"));

    /** Application modules: they use the core, never the other way round. */
    static final String[] APP_PACKAGES = {"org.moe4j.cli..", "org.moe4j.serve..", "org.moe4j.spark..", "org.moe4j.bench.."};

    private static final JavaClasses CORE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.moe4j");

    /** The layered rule for the packages under {@code root}; a method so the fixture test can reuse it. */
    static LayeredArchitecture layering(String root) {
        LayeredArchitecture arch = Architectures.layeredArchitecture()
                .consideringOnlyDependenciesInLayers()
                .withOptionalLayers(true);
        for (List<String> tier : TIERS) {
            for (String layer : tier) arch = arch.layer(layer).definedBy(root + "." + layer + "..");
        }
        List<String> below = new ArrayList<>();
        for (List<String> tier : TIERS) {
            for (String layer : tier) {
                arch = below.isEmpty()
                        ? arch.whereLayer(layer).mayNotAccessAnyLayer()
                        : arch.whereLayer(layer).mayOnlyAccessLayers(below.toArray(String[]::new));
            }
            below.addAll(tier);
        }
        return arch;
    }

    @Test
    void eachLayerUsesOnlyTheLayersBelowIt() {
        layering("org.moe4j").check(CORE);
    }

    @Test
    void theCoreNeverDependsOnTheApplications() {
        noClasses().should().dependOnClassesThat().resideInAnyPackage(APP_PACKAGES)
                .because("moe4j-core must stay usable without the CLI, the server or Spark")
                .check(CORE);
    }

    @Test
    void everyCoreClassLivesInALayer() {
        String[] packages = TIERS.stream().flatMap(List::stream).map(p -> "org.moe4j." + p + "..").toArray(String[]::new);
        ArchRule rule = classes().should().resideInAnyPackage(packages)
                .because("a new package must take its place in ArchitectureTest.TIERS, or the layering checks nothing");
        rule.check(CORE);
    }

    /** The rule must be able to fail: the fixture package holds two wrong arrows and some right ones. */
    @Test
    void wrongArrowsInTheFixtureAreCaught() {
        JavaClasses fixture = new ClassFileImporter().importPackages("org.moe4j.archfixture");
        EvaluationResult result = layering("org.moe4j.archfixture").evaluate(fixture);
        List<String> details = result.getFailureReport().getDetails();
        assertTrue(result.hasViolation(), "the fixture's wrong arrows were not reported");
        // Each detail line starts with the offending code, e.g. "Method <a.b.C.m(..)> calls method <...>".
        Set<String> origins = details.stream()
                .map(line -> line.substring(line.indexOf('<') + 1, line.indexOf('>')))
                .map(member -> member.replaceAll("\\(.*", "").replaceAll("\\.[^.]*$", ""))
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(Set.of("org.moe4j.archfixture.tensor.UsesAutograd", "org.moe4j.archfixture.nn.UsesOptim"),
                origins, String.join("\n", details));
    }
}
