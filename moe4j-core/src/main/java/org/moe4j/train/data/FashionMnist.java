package org.moe4j.train.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.DataFormatException;
import org.moe4j.io.Idx;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * Finds and loads Fashion-MNIST (Zalando, MIT licence): 60,000 training and 10,000 test images of 28 x 28 grey
 * levels in 10 classes, as the four IDX files {@code train-images-idx3-ubyte}, {@code train-labels-idx1-ubyte},
 * {@code t10k-images-idx3-ubyte}, {@code t10k-labels-idx1-ubyte}, each plain or gzipped ({@code .gz}, as
 * distributed and as Debian's {@code dataset-fashion-mnist} installs them in {@value #SYSTEM_DIR}).
 *
 * <p>Where it looks: the directory given ({@code --data fashion-mnist:DIR}); else {@code $MOE4J_DATA/fashion-mnist};
 * else {@value #SYSTEM_DIR}. Images load as floats in [0, 1], shape [n, 1, 28, 28].
 *
 * <p>{@link #loadBundled()} loads the small subset shipped inside moe4j-core for the quickstart: 6,000 training
 * images (600 per class) and 1,000 test images (100 per class), downsampled to 14 x 14 (mean of each 2 x 2 block),
 * shape [n, 1, 14, 14]; made by {@code tools/make_fashion_mnist_small.py}.
 */
public final class FashionMnist {
    private FashionMnist() {}

    public static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    public static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
    public static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
    public static final String TEST_IMAGES = "t10k-images-idx3-ubyte";
    public static final String TEST_LABELS = "t10k-labels-idx1-ubyte";
    public static final List<String> FILES = List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS);
    /** Where Debian's {@code dataset-fashion-mnist} package installs the files (gzipped). */
    public static final String SYSTEM_DIR = "/usr/share/datasets/fashion-mnist";
    /** The environment variable naming a folder that holds a {@code fashion-mnist} folder. */
    public static final String DATA_ENV = "MOE4J_DATA";
    /** The name of the bundled subset, as in {@code bundled:fashion-mnist-small}. */
    public static final String BUNDLED = "fashion-mnist-small";
    static final String BUNDLED_RESOURCE = "/datasets/fashion-mnist-small/";

    private static final String HOW_TO_GET = "get it with `sudo apt-get install dataset-fashion-mnist` (Debian, Ubuntu), "
            + "or download the four .gz files from https://github.com/zalandoresearch/fashion-mnist into a folder DIR "
            + "and pass --data fashion-mnist:DIR, or put them in $" + DATA_ENV + "/fashion-mnist";

    /** The folder to read: {@code dir} if given, else the first of $MOE4J_DATA/fashion-mnist and the system folder. */
    public static Path locate(Path dir) {
        return locate(dir, System.getenv(DATA_ENV), Path.of(SYSTEM_DIR));
    }

    /** {@link #locate(Path)} with the environment and the system folder given, for tests. */
    static Path locate(Path dir, String dataEnv, Path systemDir) {
        List<String> looked = new ArrayList<>();
        if (dir != null) {
            String why = missing(dir);
            if (why == null) return dir;
            throw new Moe4jException("Fashion-MNIST not found in " + dir + " (given by --data): " + why + "; "
                    + HOW_TO_GET);
        }
        if (dataEnv == null || dataEnv.isBlank()) {
            looked.add("$" + DATA_ENV + "/fashion-mnist ($" + DATA_ENV + " is not set)");
        } else {
            Path p = Path.of(dataEnv).resolve("fashion-mnist");
            String why = missing(p);
            if (why == null) return p;
            looked.add(p + " (from $" + DATA_ENV + ": " + why + ")");
        }
        String why = missing(systemDir);
        if (why == null) return systemDir;
        looked.add(systemDir + " (" + why + ")");
        throw new Moe4jException("Fashion-MNIST not found; looked in " + String.join(", ", looked) + "; " + HOW_TO_GET);
    }

    /** Why {@code dir} does not hold the four files, or null if it does. */
    private static String missing(Path dir) {
        if (!Files.isDirectory(dir)) return "no such folder";
        List<String> absent = new ArrayList<>();
        for (String f : FILES) if (file(dir, f) == null) absent.add(f + "[.gz]");
        return absent.isEmpty() ? null : "missing " + String.join(", ", absent);
    }

    /** {@code dir/base}, or {@code dir/base.gz}, whichever exists (the plain file first), or null. */
    static Path file(Path dir, String base) {
        Path plain = dir.resolve(base);
        if (Files.isRegularFile(plain)) return plain;
        Path gz = dir.resolve(base + ".gz");
        return Files.isRegularFile(gz) ? gz : null;
    }

    /** Loads the train and test splits from {@code dir} (see {@link #locate}); images [n, 1, 28, 28] in [0, 1]. */
    public static DataSplits load(Path dir) {
        Dataset train = load(file(dir, TRAIN_IMAGES), file(dir, TRAIN_LABELS));
        Dataset test = load(file(dir, TEST_IMAGES), file(dir, TEST_LABELS));
        return new DataSplits(train, Optional.of(test), "fashion-mnist:" + dir);
    }

    private static Dataset load(Path images, Path labels) {
        if (images == null || labels == null) {
            throw new Moe4jException("Fashion-MNIST: a file is missing (" + images + ", " + labels + "); " + HOW_TO_GET);
        }
        return assemble(Idx.readFloats(images, 1.0 / 255), images.toString(), Idx.readInts(labels), labels.toString());
    }

    /** The subset bundled in moe4j-core's resources: 6,000 train and 1,000 test images [n, 1, 14, 14] in [0, 1]. */
    public static DataSplits loadBundled() {
        Dataset train = assembleResource(TRAIN_IMAGES, TRAIN_LABELS);
        Dataset test = assembleResource(TEST_IMAGES, TEST_LABELS);
        return new DataSplits(train, Optional.of(test), "bundled:" + BUNDLED);
    }

    private static Dataset assembleResource(String images, String labels) {
        String imagesName = BUNDLED_RESOURCE + images + ".gz";
        String labelsName = BUNDLED_RESOURCE + labels + ".gz";
        try (InputStream xi = resource(imagesName); InputStream yi = resource(labelsName)) {
            return assemble(Idx.readFloats(xi, imagesName, 1.0 / 255), imagesName, Idx.readInts(yi, labelsName),
                    labelsName);
        } catch (IOException e) {
            throw new Moe4jException("cannot read the bundled dataset: " + e, e);
        }
    }

    private static InputStream resource(String name) {
        InputStream in = FashionMnist.class.getResourceAsStream(name);
        if (in == null) {
            throw new Moe4jException("the bundled dataset " + BUNDLED + " is not on the class path (" + name
                    + " missing): use a moe4j-core jar built with its resources");
        }
        return in;
    }

    /** Images [n, h, w] scaled to [0, 1] and labels [n] in [0, 10), checked against each other. */
    private static Dataset assemble(Tensor images, String imagesName, IntTensor labels, String labelsName) {
        if (images.rank() != 3) {
            throw new DataFormatException(imagesName, "dims", "expected images [n, h, w], got " + Arrays.toString(
                    images.shape()), "pass an images file (…-images-idx3-ubyte), not a labels file");
        }
        if (labels.rank() != 1) {
            throw new DataFormatException(labelsName, "dims", "expected labels [n], got " + Arrays.toString(labels.shape()),
                    "pass a labels file (…-labels-idx1-ubyte), not an images file");
        }
        if (labels.numel() != images.dim(0)) {
            throw new DataFormatException(labelsName, "dims", labels.numel() + " labels for " + images.dim(0)
                    + " images in " + imagesName, "use the labels file of the same split (train-… or t10k-…)");
        }
        int[] y = labels.data();
        for (int i = 0; i < y.length; i++) {
            if (y[i] >= CLASS_NAMES.size()) {
                throw new DataFormatException(labelsName, "data", "label " + y[i] + " of sample " + i + " is not one of "
                        + "the 10 classes", "download the file again");
            }
        }
        Tensor x = images.reshape(images.dim(0), 1, images.dim(1), images.dim(2));
        return new Dataset(x, labels, CLASS_NAMES);
    }
}
