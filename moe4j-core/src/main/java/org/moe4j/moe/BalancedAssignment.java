package org.moe4j.moe;

import java.util.Arrays;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.Tensor;

/**
 * Balanced token-to-expert assignment, the routing of BASE layers (Lewis et al. 2021, "BASE Layers: Simplifying
 * Training of Large, Sparse Models"). Each token goes to one expert, each expert takes exactly tokens/experts tokens
 * (or at most a given capacity), and the total token-expert score is maximal; solved with Bertsekas' auction.
 *
 * <p>How: each expert is {@code capacity} interchangeable slots, so this is the classic assignment of persons
 * (tokens) to objects (slots). Spare slots, when there are more slots than tokens, are filled by placeholder
 * tokens that score 0 everywhere: that keeps the problem square without changing which real assignment is best.
 * An unassigned token bids for its best slot and raises that slot's price by its margin over its second-best slot
 * plus epsilon, evicting the previous holder. Epsilon starts near the score range and shrinks by {@link #SCALING}
 * each phase; the last phase's epsilon bounds the answer: its total score is within {@code slots * epsilon} of the
 * optimum, so with integer scores and epsilon below {@code 1 / slots} it is optimal.
 *
 * <p>Deterministic: bidders wait in a FIFO queue that starts in token order, and ties go to the lower expert and
 * then the lower slot index, so the result depends only on the scores.
 */
public final class BalancedAssignment {
    /** Factor by which epsilon shrinks from one phase to the next. */
    public static final double SCALING = 8;
    /** By default the total score is within this fraction of the score range (max - min) of the optimum. */
    public static final double DEFAULT_GAP = 1e-4;
    /** Default bid budget per slot and phase; far above what random and adversarial tests need (see the tests). */
    public static final long DEFAULT_BIDS_PER_SLOT_AND_PHASE = 10_000;

    /**
     * The assignment, the final epsilon, the bids made and whether the auction finished within its budget. When it
     * did not, the tokens still unassigned took their best free expert, so the answer is balanced but may be short
     * of the optimum by more than {@code slots * epsilon}.
     */
    public record Result(int[] expertOfToken, double epsilon, long bids, boolean converged) {}

    private BalancedAssignment() {}

    /** Scores [tokens, experts], tokens divisible by experts: each expert gets exactly tokens/experts tokens. */
    public static int[] assign(Tensor scores) {
        double[] a = RoutingInput.matrix("balancedAssignment", scores);
        int tokens = scores.dim(0);
        int experts = scores.dim(1);
        return solve(a, tokens, experts, exactCapacity(tokens, experts), -1, -1).expertOfToken();
    }

    /** Scores [tokens, experts] row-major, tokens divisible by experts: each expert gets exactly tokens/experts. */
    public static int[] assign(float[] scores, int tokens, int experts) {
        RoutingInput.checkArray("balancedAssignment", scores, tokens, experts);
        return solve(toDoubles(scores), tokens, experts, exactCapacity(tokens, experts), -1, -1).expertOfToken();
    }

    /** Each expert gets at most {@code capacity} tokens (exactly, when tokens == experts * capacity). */
    public static int[] assign(float[] scores, int tokens, int experts, int capacity) {
        return solve(scores, tokens, experts, capacity).expertOfToken();
    }

    /** As {@link #assign(float[], int, int, int)}, with the epsilon and bid count of the run. */
    public static Result solve(float[] scores, int tokens, int experts, int capacity) {
        RoutingInput.checkArray("balancedAssignment", scores, tokens, experts);
        return solve(toDoubles(scores), tokens, experts, capacity, -1, -1);
    }

    /**
     * With an explicit final epsilon (the total score is within {@code experts * capacity * epsilon} of the
     * optimum) and bid budget.
     */
    public static Result solve(float[] scores, int tokens, int experts, int capacity, double epsilon, long maxBids) {
        RoutingInput.checkArray("balancedAssignment", scores, tokens, experts);
        if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
            throw new Moe4jException("balancedAssignment: epsilon must be positive and finite, got " + epsilon);
        }
        if (maxBids < 1) throw new Moe4jException("balancedAssignment: maxBids must be positive, got " + maxBids);
        return solve(toDoubles(scores), tokens, experts, capacity, epsilon, maxBids);
    }

    /** Each token's highest-scoring expert (ties to the lower index), unbalanced: the inference-time routing. */
    public static int[] greedy(float[] scores, int tokens, int experts) {
        RoutingInput.checkArray("balancedGreedy", scores, tokens, experts);
        return greedy(toDoubles(scores), tokens, experts);
    }

    /** Each token's highest-scoring expert of scores [tokens, experts] (ties to the lower index). */
    public static int[] greedy(Tensor scores) {
        return greedy(RoutingInput.matrix("balancedGreedy", scores), scores.dim(0), scores.dim(1));
    }

    /** The sum over tokens of the score of the token's expert, in double. */
    public static double totalScore(float[] scores, int experts, int[] expertOfToken) {
        double sum = 0;
        for (int t = 0; t < expertOfToken.length; t++) sum += scores[t * experts + expertOfToken[t]];
        return sum;
    }

    private static int exactCapacity(int tokens, int experts) {
        if (experts < 1 || tokens % experts != 0) {
            throw new Moe4jException("balancedAssignment: " + tokens + " tokens do not split evenly over " + experts
                    + " experts; pass a capacity per expert instead");
        }
        return tokens / experts;
    }

    private static double[] toDoubles(float[] scores) {
        double[] a = new double[scores.length];
        for (int i = 0; i < a.length; i++) a[i] = scores[i];
        return a;
    }

    private static int[] greedy(double[] a, int tokens, int experts) {
        int[] choice = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            int best = 0;
            for (int e = 1; e < experts; e++) {
                if (a[t * experts + e] > a[t * experts + best]) best = e;
            }
            choice[t] = best;
        }
        return choice;
    }

    /** epsilon and maxBids of -1 mean the defaults. */
    private static Result solve(double[] a, int tokens, int experts, int capacity, double epsilon, long maxBids) {
        if (capacity < 0 || (tokens > 0 && (long) experts * capacity < tokens)) {
            throw new Moe4jException("balancedAssignment: capacity " + capacity + " per expert is too small: "
                    + experts + " experts x " + capacity + " slots cannot hold " + tokens
                    + " tokens; use a capacity of at least ceil(tokens / experts) = "
                    + (tokens + experts - 1) / experts);
        }
        // The unbalanced optimum bounds every balanced one, so when it already fits the capacity it is the answer.
        int[] greedy = greedy(a, tokens, experts);
        int[] load = new int[experts];
        boolean fits = true;
        for (int e : greedy) fits &= ++load[e] <= capacity;
        if (fits) return new Result(greedy, epsilon > 0 ? epsilon : 0, 0, true);

        int c = Math.min(capacity, tokens); // no expert can take more than every token
        long slots = (long) experts * c;
        if (slots > Integer.MAX_VALUE / 2) {
            throw new Moe4jException("balancedAssignment: " + experts + " experts x " + c + " slots is too many");
        }
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double v : a) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        double range = max - min;
        // Shifting every score by the same amount adds the same total to every assignment; it puts the real scores
        // in [0, range] beside the placeholders' 0, so one epsilon schedule suits both.
        double[] shifted = new double[a.length];
        for (int i = 0; i < a.length; i++) shifted[i] = a[i] - min;
        double finalEps = epsilon > 0 ? epsilon : range > 0 ? DEFAULT_GAP * range / slots : 1;
        if (finalEps < 1e-12 * range) {
            throw new Moe4jException("balancedAssignment: epsilon " + finalEps + " is below what double prices resolve"
                    + " for a score range of " + range + "; use at least " + 1e-12 * range);
        }
        double[] schedule = schedule(finalEps, range);
        long budget = maxBids > 0 ? maxBids : DEFAULT_BIDS_PER_SLOT_AND_PHASE * slots * schedule.length;
        Auction auction = new Auction(shifted, tokens, experts, c);
        boolean converged = true;
        for (double eps : schedule) {
            if (!auction.phase(eps, budget)) {
                converged = false;
                auction.fillGreedily();
                break;
            }
        }
        return new Result(auction.expertOfToken(), finalEps, auction.bids, converged);
    }

    /** Epsilons from about range / SCALING down to exactly finalEps, shrinking by SCALING. */
    private static double[] schedule(double finalEps, double range) {
        int phases = 1;
        for (double e = finalEps; e * SCALING < range; e *= SCALING) phases++;
        double[] eps = new double[phases];
        eps[phases - 1] = finalEps;
        for (int p = phases - 2; p >= 0; p--) eps[p] = eps[p + 1] * SCALING;
        return eps;
    }

    /** The auction over slots; persons are the real tokens followed by the zero-score placeholders. */
    private static final class Auction {
        private final double[] a; // [tokens, experts] scores shifted to [0, range]
        private final int tokens;
        private final int experts;
        private final int capacity; // slots per expert; expert e owns slots e*capacity .. e*capacity+capacity-1
        private final int persons; // = slots
        private final double[] price; // [slots]
        private final int[] heap; // [experts, capacity]: each expert's slots as a min-heap by (price, slot)
        private final int[] owner; // [slots] the person holding a slot, or -1
        private final int[] slotOf; // [persons] the slot a person holds, or -1
        private final int[] queue; // [persons] circular FIFO of unassigned persons
        private int head;
        private int waiting;
        long bids;

        Auction(double[] a, int tokens, int experts, int capacity) {
            this.a = a;
            this.tokens = tokens;
            this.experts = experts;
            this.capacity = capacity;
            this.persons = experts * capacity;
            this.price = new double[persons];
            this.heap = new int[persons];
            for (int s = 0; s < persons; s++) heap[s] = s; // equal prices: ordered by slot, a valid heap
            this.owner = new int[persons];
            this.slotOf = new int[persons];
            this.queue = new int[persons];
        }

        private double value(int person, int expert) {
            return person < tokens ? a[person * experts + expert] : 0;
        }

        /** Runs one phase at {@code eps} from an empty assignment; false when the bid budget ran out. */
        boolean phase(double eps, long budget) {
            Arrays.fill(owner, -1);
            Arrays.fill(slotOf, -1);
            for (int p = 0; p < persons; p++) queue[p] = p;
            head = 0;
            waiting = persons;
            while (waiting > 0) {
                if (bids >= budget) return false;
                int p = queue[head];
                head = head + 1 == persons ? 0 : head + 1;
                waiting--;
                bid(p, eps);
                bids++;
            }
            return true;
        }

        private void bid(int p, double eps) {
            double first = Double.NEGATIVE_INFINITY;
            double second = Double.NEGATIVE_INFINITY;
            int best = -1;
            for (int e = 0; e < experts; e++) {
                double v = value(p, e) - price[heap[e * capacity]];
                if (v > first) {
                    second = first;
                    first = v;
                    best = e;
                } else if (v > second) {
                    second = v;
                }
            }
            int base = best * capacity;
            if (capacity > 1) { // the best expert's next-cheapest slot is a second-best object too
                int next = heap[base + 1];
                if (capacity > 2 && cheaper(heap[base + 2], next)) next = heap[base + 2];
                second = Math.max(second, value(p, best) - price[next]);
            }
            int slot = heap[base];
            // Raise the price until this slot is only epsilon better for p than its second-best choice; nextUp keeps
            // the price rising even where rounding would swallow epsilon.
            double raised = second == Double.NEGATIVE_INFINITY ? price[slot] + eps : value(p, best) - second + eps;
            price[slot] = Math.max(raised, Math.nextUp(price[slot]));
            int evicted = owner[slot];
            if (evicted >= 0) {
                slotOf[evicted] = -1;
                int tail = head + waiting;
                queue[tail >= persons ? tail - persons : tail] = evicted;
                waiting++;
            }
            owner[slot] = p;
            slotOf[p] = slot;
            siftDown(base);
        }

        private boolean cheaper(int s, int t) {
            return price[s] < price[t] || (price[s] == price[t] && s < t);
        }

        /** Restores the heap of the expert whose segment starts at {@code base} after its root's price rose. */
        private void siftDown(int base) {
            int i = 0;
            while (true) {
                int smallest = i;
                int l = 2 * i + 1;
                int r = l + 1;
                if (l < capacity && cheaper(heap[base + l], heap[base + smallest])) smallest = l;
                if (r < capacity && cheaper(heap[base + r], heap[base + smallest])) smallest = r;
                if (smallest == i) return;
                int tmp = heap[base + i];
                heap[base + i] = heap[base + smallest];
                heap[base + smallest] = tmp;
                i = smallest;
            }
        }

        /** After the budget ran out: each unassigned token, in order, takes its best expert with a free slot. */
        void fillGreedily() {
            int[] free = new int[experts];
            for (int s = 0; s < persons; s++) {
                if (owner[s] < 0) free[s / capacity]++;
            }
            for (int t = 0; t < tokens; t++) {
                if (slotOf[t] >= 0) continue;
                int best = -1;
                for (int e = 0; e < experts; e++) {
                    if (free[e] > 0 && (best < 0 || a[t * experts + e] > a[t * experts + best])) best = e;
                }
                int slot = best * capacity;
                while (owner[slot] >= 0) slot++;
                owner[slot] = t;
                slotOf[t] = slot;
                free[best]--;
            }
        }

        int[] expertOfToken() {
            int[] expert = new int[tokens];
            for (int t = 0; t < tokens; t++) expert[t] = slotOf[t] / capacity;
            return expert;
        }
    }
}
