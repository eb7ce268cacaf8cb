package org.moe4j.infer;

import java.util.List;

/**
 * Finds stop strings in text that arrives piece by piece, and holds back any end of the text that could still
 * become the start of a stop string, so that streamed text never includes (part of) a stop string. The stop
 * string itself and everything after it are dropped, as OpenAI's API does. One per sequence; not thread-safe.
 */
final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    StopMatcher(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    /** Adds {@code text}; returns what is now safe to emit. After a stop string is found, always "". */
    String push(String text) {
        if (stopped) return "";
        pending.append(text);
        int first = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        if (first >= 0) {
            stopped = true;
            String out = pending.substring(0, first);
            pending.setLength(0);
            return out;
        }
        int hold = 0;
        for (String s : stops) hold = Math.max(hold, overlap(s));
        String out = pending.substring(0, pending.length() - hold);
        pending.delete(0, pending.length() - hold);
        return out;
    }

    /** Whether a stop string was found. */
    boolean stopped() {
        return stopped;
    }

    /** The text held back (no stop string followed it); the matcher is then empty. */
    String finish() {
        String out = stopped ? "" : pending.toString();
        pending.setLength(0);
        return out;
    }

    /** The longest end of the pending text that is a proper beginning of {@code stop}. */
    private int overlap(String stop) {
        int max = Math.min(stop.length() - 1, pending.length());
        for (int len = max; len > 0; len--) {
            if (endsWith(stop, len)) return len;
        }
        return 0;
    }

    private boolean endsWith(String stop, int len) {
        int from = pending.length() - len;
        for (int i = 0; i < len; i++) if (pending.charAt(from + i) != stop.charAt(i)) return false;
        return true;
    }
}
