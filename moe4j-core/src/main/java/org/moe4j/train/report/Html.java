package org.moe4j.train.report;

import java.util.Locale;

/** Escaping and number formatting for the report; every string that came from data passes through {@link #esc}. */
final class Html {
    private Html() {}

    /** Safe as element text and as a double- or single-quoted attribute value, in HTML and in XML. */
    static String esc(String s) {
        if (s == null) return "";
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                case '\n' -> sb.append("&#10;");
                case '\t', '\r' -> sb.append(' ');
                default -> {
                    // Other control characters are not allowed in XML at all; a lone surrogate cannot be encoded.
                    if (c < 0x20 || c == 0xFFFE || c == 0xFFFF) sb.append('\uFFFD');
                    else if (Character.isSurrogate(c)) {
                        boolean pair = Character.isHighSurrogate(c) && i + 1 < s.length()
                                && Character.isLowSurrogate(s.charAt(i + 1));
                        if (pair) sb.append(c).append(s.charAt(++i));
                        else sb.append('\uFFFD');
                    } else sb.append(c);
                }
            }
        }
        return sb.toString();
    }

    /** An SVG coordinate: one decimal, never NaN (the caller keeps non-finite values out; this is the backstop). */
    static String coord(double v) {
        if (!Double.isFinite(v)) return "0";
        double r = Math.round(v * 10) / 10.0;
        return r == Math.rint(r) ? Long.toString((long) r) : Double.toString(r);
    }

    /** A figure for people: {@code digits} significant digits, thousands compacted; "–" for NaN. */
    static String num(double v, int digits) {
        if (Double.isNaN(v)) return "\u2013";
        if (Double.isInfinite(v)) return v > 0 ? "\u221e" : "-\u221e";
        double a = Math.abs(v);
        if (a >= 1e6) return trim(String.format(Locale.ROOT, "%.2f", v / 1e6)) + "M";
        if (a >= 1e4) return trim(String.format(Locale.ROOT, "%.1f", v / 1e3)) + "k";
        if (a >= 1000) return String.format(Locale.ROOT, "%.0f", v);
        if (a == 0) return "0";
        int decimals = Math.max(0, digits - 1 - (int) Math.floor(Math.log10(a)));
        if (a < 1e-3) return String.format(Locale.ROOT, "%." + (digits - 1) + "e", v);
        return trim(String.format(Locale.ROOT, "%." + decimals + "f", v));
    }

    /** A fraction as a percentage with {@code decimals} decimals; "–" for NaN. */
    static String pct(double fraction, int decimals) {
        if (!Double.isFinite(fraction)) return "\u2013";
        return String.format(Locale.ROOT, "%." + decimals + "f%%", 100 * fraction);
    }

    /** Whole counts with thin thousands separators. */
    static String count(long v) {
        return String.format(Locale.ROOT, "%,d", v).replace(",", "\u2009");
    }

    /** Seconds as "1 h 02 min", "3 min 05 s" or "12.3 s". */
    static String duration(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) return "\u2013";
        if (seconds < 60) return String.format(Locale.ROOT, "%.1f s", seconds);
        long s = Math.round(seconds);
        if (s < 3600) return String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
        return String.format(Locale.ROOT, "%d h %02d min", s / 3600, s / 60 % 60);
    }

    private static String trim(String s) {
        if (!s.contains(".")) return s;
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }
}
