/**
 * Deliberately wrong (and some right) dependency arrows between packages named like moe4j's layers, so that
 * {@code ArchitectureTest} can show that its layering rule fails on a wrong arrow. Test code only; never imported
 * by the real rule, which analyzes production classes.
 */
package org.moe4j.archfixture;
