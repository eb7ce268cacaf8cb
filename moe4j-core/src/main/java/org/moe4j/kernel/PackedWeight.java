package org.moe4j.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.Quantization;
import org.moe4j.tensor.QuantizedTensor;

/**
 * A quantized weight {@code [rows, cols]} laid out for {@link QuantizedMatmul}, made once when a model is loaded.
 *
 * <p>The file layout ({@link QuantizedTensor}) keeps each row's blocks together, so a kernel that reads {@value
 * #UNIT} rows at once walks {@value #UNIT} separate streams of 34-byte blocks, with misaligned loads and f16
 * scales to widen. Here the block formats are regrouped into tiles of {@value #UNIT} rows: for each 32-value block
 * b, the {@value #UNIT} rows' levels come one after another, so a tile is one contiguous run of bytes read from
 * start to end, and the factors follow the same order. On this machine that doubled the speed of a decode
 * step's products (2,816 x 1,024 Q8_0: from 8.5 to 17-25 G weights/s on one core).
 *
 * <p>What a tile holds per row and block, and the weight it gives (each exactly the file's decoded value):
 * <ul>
 *   <li>Q8_0: 32 int8 levels q and the file's f16 scale d: {@code q * d}. 1.0625 bytes a weight, as in the file.
 *   <li>Q4_0: 16 bytes of nibbles (value i low, i + 16 high) and d: {@code (nibble - 8) * d}.
 *   <li>Q6_K: 32 int8 levels q and two factors, one per 16 values ({@code d * sc}): {@code (d * sc) * q}. The
 *       file's 6-bit levels take a byte each, so 1.25 bytes a weight against the file's 0.82.
 *   <li>Q4_K: nibbles as Q4_0 and two factors, {@code d * sc} and {@code dmin * m}: {@code (d * sc) * q - dmin *
 *       m}; 0.75 bytes a weight against 0.56.
 *   <li>Q5_K: as Q4_K with 5-bit levels, a byte each: 1.25 bytes a weight against 0.69.
 *   <li>Q3_K: as Q6_K with 3-bit levels (-4 to 3) and its 6-bit scales minus 32: 1.25 bytes a weight against 0.43.
 * </ul>
 * Widening the K-quants' super-block scales at load makes them the same kind of tile as the legacy formats, read
 * by the same kind of kernel; decoding them row by row ran 8 times slower than the Q8_0 tiles.
 *
 * <p>The rows may form {@code groups} equal matrices stacked (one per expert); each group is tiled on its own and
 * its last tile padded with zero rows, so a tile never mixes experts. Float formats (F32, F16, BF16) keep a copy of
 * the file rows as they are, which the kernel decodes a panel of rows at a time ({@link #fileRows()}).
 */
public final class PackedWeight {
    /** Rows per tile. */
    static final int UNIT = 8;
    private static final int QK = 32; // values per block
    /** The largest array of tiles; bigger weights take several. */
    private static final long MAX_SLAB_BYTES = 1L << 30;
    private static final ValueLayout.OfShort I16_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final QuantFormat format;
    private final int rows;
    private final int cols;
    private final int groups;
    private final int groupRows; // rows / groups
    private final int tilesPerGroup; // ceil(groupRows / UNIT)
    private final QuantizedTensor fileRows; // row-decoded formats only: a copy of the file rows [rows, cols]; else null
    // Block formats only (else null): tile t lies in slabs[t / tilesPerSlab] from byte (t % tilesPerSlab) * tileBytes;
    // in it, block b of tile row r starts at (b * UNIT + r) * levelBytes.
    private final byte[][] slabs;
    private final int tilesPerSlab;
    private final int tileBytes;
    // Per tile, block and row: Q8_0 and Q4_0 keep the file's f16 scale (halfScales [tiles, cols / 32, UNIT]), the
    // K-quants two float factors (scales [tiles, cols / 32, UNIT, 2]); the other array is null.
    private final short[] halfScales;
    private final float[] scales;

    private PackedWeight(QuantizedTensor w, int groups) {
        if (groups < 1 || w.rows() % groups != 0) {
            throw new Moe4jException("packed weight: " + w + " cannot be cut into " + groups + " equal groups of rows");
        }
        if (!supports(w.format())) {
            throw new Moe4jException("packed weight: " + w.format() + " is not computed in place; decode it to float32"
                    + " (Quantization.dequantizeRow) or use F32, F16, BF16, Q8_0, Q4_0, Q3_K, Q4_K, Q5_K or Q6_K");
        }
        this.format = w.format();
        this.rows = w.rows();
        this.cols = w.cols();
        this.groups = groups;
        this.groupRows = rows / groups;
        this.tilesPerGroup = (groupRows + UNIT - 1) / UNIT;
        if (rowDecoded(format)) {
            // a copy: w may be a view of a mapped file that closes once the model is loaded
            MemorySegment own = Arena.ofAuto().allocate(w.data().byteSize(), 8);
            MemorySegment.copy(w.data(), 0, own, 0, w.data().byteSize());
            this.fileRows = new QuantizedTensor(format, rows, cols, own);
            this.slabs = null;
            this.tilesPerSlab = 0;
            this.tileBytes = 0;
            this.scales = null;
            this.halfScales = null;
            return;
        }
        this.fileRows = null;
        int blocks = cols / QK;
        long bytes = (long) UNIT * blocks * levelBytes(format);
        if (bytes > MAX_SLAB_BYTES) {
            throw new Moe4jException("packed weight: rows of " + cols + " values are too long for " + this);
        }
        this.tileBytes = (int) bytes;
        this.tilesPerSlab = (int) Math.max(1, MAX_SLAB_BYTES / Math.max(1, tileBytes));
        long tiles = (long) groups * tilesPerGroup;
        int scaleCount = Math.toIntExact(Math.multiplyExact(tiles, (long) blocks * UNIT * factorsPerBlock(format)));
        this.scales = format.isKQuant() ? new float[scaleCount] : null;
        this.halfScales = format.isKQuant() ? null : new short[scaleCount];
        int slabCount = (int) ((tiles + tilesPerSlab - 1) / tilesPerSlab);
        this.slabs = new byte[slabCount][];
        for (int s = 0; s < slabCount; s++) {
            long inSlab = Math.min(tilesPerSlab, tiles - (long) s * tilesPerSlab);
            slabs[s] = new byte[(int) (inSlab * tileBytes)];
        }
        if (format.isKQuant()) {
            byte[] levels = new byte[cols];
            float[] rowFactors = new float[cols / 16];
            for (int row = 0; row < rows; row++) copyKQuantRow(w, row, levels, rowFactors);
        } else {
            for (int row = 0; row < rows; row++) copyRow(w, row);
        }
    }

    /**
     * Whether {@code f} can be packed: the float formats, Q8_0, Q4_0 and the K-quants but Q2_K. The other ggml
     * formats (Q4_1, Q5_0, Q5_1, Q2_K) are decoded to float32 when a model is loaded.
     */
    public static boolean supports(QuantFormat f) {
        return switch (f) {
            case F32, F16, BF16, Q8_0, Q4_0, Q3_K, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    /** Formats kept as the file's rows and decoded a panel at a time, rather than regrouped into 8-row tiles. */
    static boolean rowDecoded(QuantFormat f) {
        return !f.isBlockQuantized();
    }

    /** {@code w} as one matrix. */
    public static PackedWeight of(QuantizedTensor w) {
        return new PackedWeight(w, 1);
    }

    /** {@code w} as {@code groups} equal matrices stacked ({@code [groups * n, cols]}, e.g. one per expert). */
    public static PackedWeight grouped(QuantizedTensor w, int groups) {
        return new PackedWeight(w, groups);
    }

    /** Bytes of one row's 32-value block in a tile: 16 for nibbles (Q4_0, Q4_K), 32 for byte levels (the others). */
    static int levelBytes(QuantFormat f) {
        return f == QuantFormat.Q4_0 || f == QuantFormat.Q4_K ? QK / 2 : QK;
    }

    /** Scales per row and 32-value block: the f16 d of Q8_0 and Q4_0; two float factors for the K-quants. */
    static int factorsPerBlock(QuantFormat f) {
        return f.isKQuant() ? 2 : 1;
    }

    private void copyRow(QuantizedTensor w, int row) {
        MemorySegment src = w.data();
        long at = row * w.rowBytes();
        int lb = levelBytes(format);
        int tile = tileOf(row);
        int r = row % groupRows % UNIT;
        byte[] slab = slab(tile);
        int base = tileOffset(tile);
        int scaleBase = scaleOffset(tile);
        for (int b = 0; b < cols / QK; b++, at += format.blockBytes()) {
            halfScales[scaleBase + b * UNIT + r] = src.get(I16_LE, at);
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, at + 2, slab, base + (b * UNIT + r) * lb, lb);
        }
    }

    /** A K-quant row through its levels and factors ({@link Quantization#kQuantLevels}) into its tile. */
    private void copyKQuantRow(QuantizedTensor w, int row, byte[] levels, float[] rowFactors) {
        Quantization.kQuantLevels(format, w.data(), row * w.rowBytes(), cols, levels, 0, rowFactors, 0);
        int tile = tileOf(row);
        int r = row % groupRows % UNIT;
        byte[] slab = slab(tile);
        int base = tileOffset(tile), scaleBase = scaleOffset(tile);
        boolean nibbles = levelBytes(format) == QK / 2;
        for (int b = 0; b < cols / QK; b++) {
            int at = base + (b * UNIT + r) * levelBytes(format);
            for (int i = 0; i < (nibbles ? QK / 2 : QK); i++) {
                slab[at + i] = nibbles ? (byte) (levels[b * QK + i] | levels[b * QK + i + QK / 2] << 4) : levels[b * QK + i];
            }
            scales[scaleBase + (b * UNIT + r) * 2] = rowFactors[2 * b];
            scales[scaleBase + (b * UNIT + r) * 2 + 1] = rowFactors[2 * b + 1];
        }
    }

    public QuantFormat format() {
        return format;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** {@code [rows, cols]}. */
    public int[] shape() {
        return new int[] {rows, cols};
    }

    /** How many equal matrices the rows stack. */
    public int groups() {
        return groups;
    }

    /** Rows of each group. */
    public int groupRows() {
        return groupRows;
    }

    /** Bytes of memory the weight holds. */
    public long bytes() {
        if (fileRows != null) return fileRows.data().byteSize();
        long b = scales != null ? 4L * scales.length : 2L * halfScales.length;
        for (byte[] s : slabs) b += s.length;
        return b;
    }

    /** Row {@code row} decoded into {@code out} from {@code off}: the same values as {@link QuantizedTensor#dequantizeRow}. */
    public void dequantizeRow(int row, float[] out, int off) {
        if (fileRows != null) {
            fileRows.dequantizeRow(row, out, off);
            return;
        }
        for (int e = 0; e < cols; e++) {
            int at = factorAt(row, e / QK);
            out[off + e] = switch (format) {
                case Q3_K, Q6_K -> scales[at + e % QK / 16] * level(row, e);
                case Q4_K, Q5_K -> scales[at] * level(row, e) - scales[at + 1];
                default -> level(row, e) * Float.float16ToFloat(halfScales[at]);
            };
        }
    }

    @Override
    public String toString() {
        return "PackedWeight(" + format + " [" + rows + ", " + cols + "]" + (groups > 1 ? " in " + groups + " groups" : "")
                + ")";
    }

    // ---- what the kernels read ----

    /** The file rows, for the {@link #rowDecoded} formats; null for the tiled ones. */
    QuantizedTensor fileRows() {
        return fileRows;
    }

    /** Tiles in each group. */
    int tilesPerGroup() {
        return tilesPerGroup;
    }

    /** The tile holding {@code row}. */
    int tileOf(int row) {
        return row / groupRows * tilesPerGroup + row % groupRows / UNIT;
    }

    /** The rows tile {@code t} holds for real (the rest is padding): up to {@link #UNIT}. */
    int tileRows(int t) {
        return Math.min(UNIT, groupRows - t % tilesPerGroup * UNIT);
    }

    /** The row of the group's matrix that tile {@code t} starts at. */
    int tileFirstRow(int t) {
        return t % tilesPerGroup * UNIT;
    }

    byte[] slab(int tile) {
        return slabs[tile / tilesPerSlab];
    }

    int tileOffset(int tile) {
        return tile % tilesPerSlab * tileBytes;
    }

    /** The K-quants' factors, two per tile row and block; null for Q8_0 and Q4_0. */
    float[] scales() {
        return scales;
    }

    /** Q8_0's and Q4_0's f16 scales, one per tile row and block; null for the K-quants. */
    short[] halfScales() {
        return halfScales;
    }

    int scaleOffset(int tile) {
        return tile * (cols / QK) * UNIT * factorsPerBlock(format);
    }

    /** The integer level of value {@code e} of {@code row}: the byte, or nibble - 8 for Q4_0, nibble for Q4_K. */
    private float level(int row, int e) {
        int tile = tileOf(row);
        int r = row % groupRows % UNIT;
        int lb = levelBytes(format);
        int at = tileOffset(tile) + (e / QK * UNIT + r) * lb;
        byte[] slab = slab(tile);
        if (lb == QK) return slab[at + e % QK];
        int i = e % QK;
        int packed = slab[at + i % (QK / 2)] & 0xff;
        return (i < QK / 2 ? packed & 0x0f : packed >>> 4) - (format == QuantFormat.Q4_0 ? 8 : 0);
    }

    /** Where the factors of block {@code b} of {@code row} start in {@link #scales()} or {@link #halfScales()}. */
    private int factorAt(int row, int b) {
        return scaleOffset(tileOf(row)) + (b * UNIT + row % groupRows % UNIT) * factorsPerBlock(format);
    }
}
