package org.moe4j.autograd;

/**
 * Whether ops record the graph, per thread. {@code try (var scope = GradMode.off()) { ... }} runs a block
 * without recording (inference, evaluation, optimizer updates).
 */
public final class GradMode implements AutoCloseable {
    private static final ThreadLocal<int[]> DISABLED_DEPTH = ThreadLocal.withInitial(() -> new int[1]);
    private boolean closed;

    private GradMode() {}

    /** Opens a no-grad scope on this thread; close it to restore recording. */
    public static GradMode off() {
        DISABLED_DEPTH.get()[0]++;
        return new GradMode();
    }

    public static boolean enabled() {
        return DISABLED_DEPTH.get()[0] == 0;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            DISABLED_DEPTH.get()[0]--;
        }
    }
}
