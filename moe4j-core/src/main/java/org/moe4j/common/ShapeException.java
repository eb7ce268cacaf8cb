package org.moe4j.common;

import java.util.Arrays;

/** Raised when an op receives shapes, axes or sizes it cannot work with. The message names the op and the shapes. */
public final class ShapeException extends Moe4jException {
    public ShapeException(String op, String problem) {
        super(op + ": " + problem);
    }

    /** A message such as {@code matmul: inner dimensions differ, shapes [2, 3] and [4, 5]}. */
    public static ShapeException of(String op, String problem, int[]... shapes) {
        StringBuilder sb = new StringBuilder(problem);
        if (shapes.length > 0) {
            sb.append(shapes.length == 1 ? ", shape " : ", shapes ");
            for (int i = 0; i < shapes.length; i++) {
                if (i > 0) sb.append(i == shapes.length - 1 ? " and " : ", ");
                sb.append(Arrays.toString(shapes[i]));
            }
        }
        return new ShapeException(op, sb.toString());
    }
}
