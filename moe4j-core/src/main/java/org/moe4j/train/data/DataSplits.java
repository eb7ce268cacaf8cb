package org.moe4j.train.data;

import java.util.Optional;

/**
 * What a {@link DataSpec} loads: the training data, the test data when the source has a separate test split
 * (Fashion-MNIST does, a single CSV file does not: hold out a {@link Dataset#split} instead), and a description of
 * where it came from, for logs and provenance.
 */
public record DataSplits(Dataset train, Optional<Dataset> test, String source) {}
