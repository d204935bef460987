package dev.xbridge.bench;

import java.util.Arrays;
import java.util.List;

/** Min, median, max (and percentiles) of repeated measurements. */
public record Summary(int n, double min, double median, double max) {
    public static Summary of(List<Double> values) {
        if (values.isEmpty()) {
            return new Summary(0, Double.NaN, Double.NaN, Double.NaN);
        }
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return new Summary(v.length, v[0], percentile(v, 50), v[v.length - 1]);
    }

    /**
     * The {@code p}-th percentile of sorted values by linear interpolation between closest
     * ranks (the "R-7" definition of spreadsheets and NumPy's default): the median of
     * {1, 2, 3, 4} is 2.5, p99 of 1..100 is 99.01.
     */
    public static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        if (p < 0 || p > 100) {
            throw new IllegalArgumentException("percentile must be 0..100: " + p);
        }
        double rank = p / 100 * (sorted.length - 1);
        int lo = (int) Math.floor(rank);
        int hi = (int) Math.ceil(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    public static double percentile(List<Double> values, double p) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(v);
        return percentile(v, p);
    }

    /** This summary divided by a scalar (e.g. to turn pps into Mpps); NaN stays NaN. */
    public Summary scaled(double factor) {
        return new Summary(n, min * factor, median * factor, max * factor);
    }
}
