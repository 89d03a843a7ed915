package dev.dragedit.eval;

import dev.dragedit.drag.Images;

/**
 * One DragBench sample (drag_bench_data/CATEGORY/NAME/ original_image.png + meta_data.pkl): the image, the drag points
 * as DragDiffusion's meta data holds them (pixels, x then y, alternating handle and target), the editable region
 * (row-major H·W, 1 = may change, 0 = keep; null when the sample has none) and the prompt.
 */
public record DragBenchSample(String category, String name, Images.Rgb image, double[][] points, byte[] mask, String prompt) {
    public DragBenchSample {
        if (points.length == 0 || points.length % 2 != 0)
            throw new IllegalArgumentException(category + "/" + name + ": " + points.length + " points; expected handle/target pairs");
        for (double[] p : points)
            if (p.length != 2) throw new IllegalArgumentException(category + "/" + name + ": a point has " + p.length + " coordinates, expected x and y");
        if (mask != null && mask.length != image.height() * image.width())
            throw new IllegalArgumentException(category + "/" + name + ": mask of " + mask.length + " values for a " + image.size() + " image");
    }

    /** CATEGORY/NAME, the sample's place in the benchmark and in a results folder. */
    public String id() { return category + "/" + name; }
}
