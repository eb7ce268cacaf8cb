package org.moe4j.tensor;

import java.lang.foreign.MemorySegment;
import org.moe4j.common.Moe4jException;

/**
 * A weight matrix that stays in its file format in memory: {@code rows} rows of {@code cols} values, each row
 * {@link #rowBytes()} bytes of {@link QuantFormat} blocks, rows back to back. The bytes are a {@link MemorySegment}
 * (a slice of a mapped file, or a heap array), read-only by convention and never copied.
 */
public final class QuantizedTensor {
    private final QuantFormat format;
    private final int rows;
    private final int cols;
    private final MemorySegment data; // [rows, rowBytes] little-endian blocks

    /** Wraps {@code data}, which must hold exactly {@code rows} rows of {@code cols} values in {@code format}. */
    public QuantizedTensor(QuantFormat format, int rows, int cols, MemorySegment data) {
        if (rows < 0 || cols < 0 || cols % format.blockSize() != 0) {
            throw new Moe4jException("quantized tensor: shape [" + rows + ", " + cols + "] does not fit " + format
                    + ": rows and columns must be non-negative and columns a multiple of " + format.blockSize());
        }
        long expected = Math.multiplyExact(format.bytesFor(cols), (long) rows);
        if (data.byteSize() != expected) {
            throw new Moe4jException("quantized tensor: " + format + " [" + rows + ", " + cols + "] needs " + expected
                    + " bytes, got " + data.byteSize());
        }
        this.format = format;
        this.rows = rows;
        this.cols = cols;
        this.data = data;
    }

    /** Quantizes a 2-D float tensor (F32 or F64, any strides) into heap memory. */
    public static QuantizedTensor quantize(Tensor t, QuantFormat format) {
        if (t.shape().length != 2) {
            throw new Moe4jException("quantize: expected a 2-D tensor [rows, cols], got rank " + t.shape().length);
        }
        int rows = t.shape()[0];
        int cols = t.shape()[1];
        if (cols % format.blockSize() != 0) {
            throw new Moe4jException("quantize: " + cols + " columns are not a multiple of the " + format
                    + " block size " + format.blockSize());
        }
        float[] values = t.toFloatArray();
        long rowBytes = format.bytesFor(cols);
        MemorySegment out = MemorySegment.ofArray(new byte[Math.toIntExact(Math.multiplyExact(rowBytes, (long) rows))]);
        for (int r = 0; r < rows; r++) Quantization.quantizeRow(format, values, r * cols, cols, out, r * rowBytes);
        return new QuantizedTensor(format, rows, cols, out);
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

    /** Bytes of one row. */
    public long rowBytes() {
        return format.bytesFor(cols);
    }

    /** The raw little-endian blocks, rows back to back (not a copy). */
    public MemorySegment data() {
        return data;
    }

    /** Rows {@code [from, to)} as a view (e.g. one expert of a stacked expert matrix). */
    public QuantizedTensor rows(int from, int to) {
        if (from < 0 || to < from || to > rows) {
            throw new Moe4jException("quantized tensor: rows [" + from + ", " + to + ") outside [0, " + rows + ")");
        }
        return new QuantizedTensor(format, to - from, cols, data.asSlice(from * rowBytes(), (to - from) * rowBytes()));
    }

    /** Row {@code r} decoded into {@code out} from {@code off}. */
    public void dequantizeRow(int r, float[] out, int off) {
        Quantization.dequantizeRow(format, data, r * rowBytes(), out, off, cols);
    }

    /** The whole matrix as a float32 tensor {@code [rows, cols]}. */
    public Tensor dequantize() {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        for (int r = 0; r < rows; r++) dequantizeRow(r, out, r * cols);
        return Tensor.of(out, rows, cols);
    }

    @Override
    public String toString() {
        return "QuantizedTensor" + "(" + format + " [" + rows + ", " + cols + "])";
    }
}
