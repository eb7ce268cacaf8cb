package org.moe4j.train;

/**
 * How a run ended.
 *
 * @param status          "completed" or "max-steps"
 * @param steps           optimizer steps taken in all (including those before a resume)
 * @param epochs          epochs finished
 * @param trainLoss       the last smoothed training loss
 * @param evalLoss        the last evaluation's loss, or NaN when there was none
 * @param evalAccuracy    the last evaluation's accuracy, or NaN
 * @param seconds         wall time of the run, resumed parts included
 * @param evalBitsPerByte the last evaluation's bits per byte (language models), or NaN
 */
public record TrainResult(String status, long steps, int epochs, double trainLoss, double evalLoss, double evalAccuracy,
        double seconds, double evalBitsPerByte) {
    /** A result without bits per byte (classifiers). */
    public TrainResult(String status, long steps, int epochs, double trainLoss, double evalLoss, double evalAccuracy,
            double seconds) {
        this(status, steps, epochs, trainLoss, evalLoss, evalAccuracy, seconds, Double.NaN);
    }
}
