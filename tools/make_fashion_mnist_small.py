#!/usr/bin/env python3
"""Makes the small Fashion-MNIST subset that moe4j-core bundles for the quickstart (bundled:fashion-mnist-small).

From a Fashion-MNIST folder (the four gzip IDX files, e.g. /usr/share/datasets/fashion-mnist from Debian's
dataset-fashion-mnist), it takes the first 600 images of each class from the training set and the first 100 of each
class from the test set (file order, which is already random; so the subset is stratified and reproducible without
a random generator), downsamples each 28 x 28 image to 14 x 14 by the mean of each 2 x 2 block, rounded half up
((a + b + c + d + 2) // 4), and writes the four files as gzip IDX with a zero timestamp, so that reruns give
byte-identical files. About 0.9 MB in all. Standard library only.

Usage: tools/make_fashion_mnist_small.py [SOURCE_DIR] [OUT_DIR]
  SOURCE_DIR defaults to shared/data/fashion-mnist in the repository or a folder above it, then /usr/share/datasets/fashion-mnist;
  OUT_DIR defaults to moe4j-core/src/main/resources/datasets/fashion-mnist-small.
"""
import gzip
import os
import struct
import sys

TRAIN_PER_CLASS = 600
TEST_PER_CLASS = 100
CLASSES = 10


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(f">{rank}I", data[4:4 + 4 * rank])
    return dims, data[4 + 4 * rank:]


def write_idx(path, dims, payload):
    header = struct.pack(">HBB", 0, 0x08, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as f:
        f.write(header + payload)


def downsample(image, side):
    half = side // 2
    out = bytearray(half * half)
    for y in range(half):
        for x in range(half):
            i = 2 * y * side + 2 * x
            out[y * half + x] = (image[i] + image[i + 1] + image[i + side] + image[i + side + 1] + 2) // 4
    return bytes(out)


def subset(src, prefix, per_class, out):
    (n, side, side2), pixels = read_idx(os.path.join(src, f"{prefix}-images-idx3-ubyte.gz"))
    (n_labels,), labels = read_idx(os.path.join(src, f"{prefix}-labels-idx1-ubyte.gz"))
    assert n == n_labels and side == side2 == 28
    taken = [0] * CLASSES
    images, chosen = [], []
    for i in range(n):
        c = labels[i]
        if taken[c] < per_class:
            taken[c] += 1
            images.append(downsample(pixels[i * side * side:(i + 1) * side * side], side))
            chosen.append(c)
    assert taken == [per_class] * CLASSES, taken
    half = side // 2
    write_idx(os.path.join(out, f"{prefix}-images-idx3-ubyte.gz"), (len(images), half, half), b"".join(images))
    write_idx(os.path.join(out, f"{prefix}-labels-idx1-ubyte.gz"), (len(chosen),), bytes(chosen))
    print(f"{prefix}: {len(images)} images of {half} x {half}")


def shared_copy(start):
    """The nearest shared/data/fashion-mnist in start or a folder above it."""
    d = start
    while True:
        c = os.path.join(d, "shared", "data", "fashion-mnist")
        if os.path.isdir(c) or os.path.dirname(d) == d:
            return c
        d = os.path.dirname(d)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    candidates = sys.argv[1:2] or [shared_copy(repo), "/usr/share/datasets/fashion-mnist"]
    src = next((c for c in candidates if os.path.isdir(c)), None)
    if src is None:
        sys.exit("Fashion-MNIST not found in " + ", ".join(candidates)
                 + "; install dataset-fashion-mnist or pass the folder")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        repo, "moe4j-core", "src", "main", "resources", "datasets", "fashion-mnist-small")
    os.makedirs(out, exist_ok=True)
    subset(src, "train", TRAIN_PER_CLASS, out)
    subset(src, "t10k", TEST_PER_CLASS, out)


if __name__ == "__main__":
    main()
