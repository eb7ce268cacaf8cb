package org.moe4j.io.tokenizer;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@code tokenizer.json} decoder for SentencePiece-style vocabularies: a chain of Hugging Face's {@code Replace}
 * (literal), {@code Metaspace}, {@code ByteFallback}, {@code Fuse} and {@code Strip} steps, run as Hugging Face runs
 * them, but one token at a time, so the same code serves whole decodes and streaming. Tokens are held back only
 * while they form a run of {@code <0xNN>} byte tokens: Hugging Face turns a run into its UTF-8 text, or into one
 * U+FFFD per byte when the run is not valid UTF-8, so the run must be complete before its text is known.
 *
 * <p>Supported chains: per-token steps (Replace, Metaspace) first, then at most one ByteFallback, then per-token
 * Replace or Strip steps, then at most one Fuse followed only by Strip steps that cut from the start.
 */
record PieceDecoder(List<Step> steps) {
    sealed interface Step {}

    /** Replaces the literal {@code pattern} by {@code content} in each token. */
    record Replace(String pattern, String content) implements Step {}

    /** Turns runs of {@code <0xNN>} tokens into their text. */
    record ByteFallback() implements Step {}

    /** Joins all tokens into one. */
    record Fuse() implements Step {}

    /** Cuts up to {@code start} leading and {@code stop} trailing {@code content} characters from each token. */
    record Strip(int content, int start, int stop) implements Step {}

    /** Metaspace's decoder: the replacement becomes a space, and is dropped from the first token unless NEVER. */
    record MetaspaceStep(String replacement, Metaspace.PrependScheme scheme) implements Step {}

    PieceDecoder {
        steps = List.copyOf(steps);
    }

    /** Where the chain breaks the order this class can stream, or null when it is fine. */
    static String unsupportedOrder(List<Step> steps) {
        int phase = 0; // 0: before ByteFallback, 1: after it, 2: after Fuse
        for (int i = 0; i < steps.size(); i++) {
            Step s = steps.get(i);
            switch (s) {
                case ByteFallback b -> {
                    if (phase > 0) return "[" + i + "]: ByteFallback must come once, before Fuse";
                    phase = 1;
                }
                case Fuse f -> {
                    if (phase == 2) return "[" + i + "]: Fuse twice";
                    phase = 2;
                }
                case MetaspaceStep m -> {
                    if (phase > 0) return "[" + i + "]: Metaspace must come before ByteFallback and Fuse";
                }
                case Replace r -> {
                    if (phase == 2) return "[" + i + "]: Replace after Fuse is not supported";
                }
                case Strip st -> {
                    if (phase == 2 && st.stop() > 0) return "[" + i + "]: Strip with stop > 0 after Fuse is not supported";
                }
            }
        }
        return null;
    }

    private int byteFallbackAt() {
        for (int i = 0; i < steps.size(); i++) if (steps.get(i) instanceof ByteFallback) return i;
        return -1;
    }

    boolean hasByteFallback() {
        return byteFallbackAt() >= 0;
    }

    /** A token's text in the middle of a text: the per-token steps before ByteFallback or Fuse, not at the start. */
    String middleToken(String token) {
        State s = new State();
        return s.perToken(token, 0, s.perTokenEnd, 1);
    }

    private int fuseAt() {
        for (int i = 0; i < steps.size(); i++) if (steps.get(i) instanceof Fuse) return i;
        return steps.size();
    }

    /** The text of {@code tokens}, as Hugging Face's decoder chain gives it. */
    String decode(List<String> tokens) {
        State s = new State();
        StringBuilder out = new StringBuilder();
        for (String t : tokens) out.append(s.push(t));
        return out.append(s.finish()).toString();
    }

    /** A fresh streaming state. */
    State state() {
        return new State();
    }

    /** The byte a {@code <0xNN>} token stands for, or -1, as Hugging Face's ByteFallback reads tokens. */
    static int byteOf(String token) {
        byte[] b = token.getBytes(StandardCharsets.UTF_8);
        if (b.length != 6 || !token.startsWith("<0x") || !token.endsWith(">")) return -1;
        String hex = token.substring(3, 5);
        // Rust's u8::from_str_radix also takes a leading '+'
        if (hex.charAt(0) == '+') hex = hex.substring(1);
        if (hex.isEmpty() || hex.charAt(0) == '+' || hex.charAt(0) == '-') return -1;
        try {
            return Integer.parseInt(hex, 16);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The decoding of one sequence; not thread-safe. */
    final class State {
        private final int fallbackAt = byteFallbackAt();
        private final int perTokenEnd = fallbackAt >= 0 ? fallbackAt : fuseAt();
        private final List<String> run = new ArrayList<>(); // the held-back byte tokens (after the steps before)
        private int index; // tokens pushed so far
        private int stripLeft = -1; // start characters a Strip after Fuse may still cut; -1 until known
        private boolean fusedStarted; // some text has come out of a Fuse (a Strip after it cuts no more)

        /** Adds one token; returns the text it completes. */
        String push(String token) {
            token = perToken(token, 0, perTokenEnd, index++);
            if (fallbackAt < 0) return finishSteps(List.of(token), perTokenEnd);
            if (byteOf(token) >= 0) {
                run.add(token);
                return "";
            }
            List<String> window = flushRun();
            window.add(token);
            return finishSteps(window, fallbackAt + 1);
        }

        /** The text of the tokens still held back. */
        String finish() {
            if (run.isEmpty()) return "";
            return finishSteps(flushRun(), fallbackAt + 1);
        }

        private List<String> flushRun() {
            List<String> window = new ArrayList<>();
            if (run.isEmpty()) return window;
            byte[] b = new byte[run.size()];
            for (int i = 0; i < b.length; i++) b[i] = (byte) byteOf(run.get(i));
            try {
                window.add(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString());
            } catch (CharacterCodingException e) {
                for (int i = 0; i < b.length; i++) window.add("\uFFFD"); // one per byte, as Hugging Face does
            }
            run.clear();
            return window;
        }

        /** Runs steps [from, end) over a window of tokens whose byte runs are complete. */
        private String finishSteps(List<String> window, int from) {
            List<String> cur = new ArrayList<>(window);
            boolean fused = false;
            for (int k = from; k < steps.size(); k++) {
                Step s = steps.get(k);
                if (s instanceof Fuse) {
                    cur = new ArrayList<>(List.of(String.join("", cur)));
                    fused = true;
                } else if (fused && s instanceof Strip st) {
                    cur.set(0, stripStart(cur.get(0), st));
                } else {
                    for (int i = 0; i < cur.size(); i++) cur.set(i, perToken(cur.get(i), k, k + 1, Integer.MAX_VALUE));
                }
            }
            return String.join("", cur);
        }

        /** A Strip after Fuse cuts only at the start of the whole text, however it arrives in pieces. */
        private String stripStart(String text, Strip st) {
            if (fusedStarted) return text;
            if (stripLeft < 0) stripLeft = st.start();
            int i = 0;
            while (stripLeft > 0 && i < text.length() && text.codePointAt(i) == st.content()) {
                i += Character.charCount(st.content());
                stripLeft--;
            }
            if (i < text.length()) fusedStarted = true;
            if (stripLeft == 0) fusedStarted = true;
            return text.substring(i);
        }

        private String perToken(String token, int from, int end, int tokenIndex) {
            for (int k = from; k < end; k++) {
                token = switch (steps.get(k)) {
                    case Replace r -> token.replace(r.pattern(), r.content());
                    case MetaspaceStep m -> token.replace(m.replacement(),
                            tokenIndex == 0 && m.scheme() != Metaspace.PrependScheme.NEVER ? "" : " ");
                    case Strip st -> strip(token, st);
                    case ByteFallback b -> token;
                    case Fuse f -> token;
                };
            }
            return token;
        }

        private static String strip(String token, Strip st) {
            int[] cps = token.codePoints().toArray();
            int from = 0, to = cps.length;
            while (from < Math.min(st.start(), cps.length) && cps[from] == st.content()) from++;
            for (int i = 0; i < st.stop() && to - 1 >= from && cps[to - 1] == st.content(); i++) to--;
            return new String(cps, from, to - from);
        }
    }
}
