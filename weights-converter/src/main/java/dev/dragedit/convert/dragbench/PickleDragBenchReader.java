package dev.dragedit.convert.dragbench;

import dev.dragedit.convert.ConvertException;
import dev.dragedit.drag.Images;
import dev.dragedit.eval.DragBenchReader;
import dev.dragedit.eval.DragBenchSample;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * DragBench's layout (DragDiffusion drag_bench_evaluation/README.md, run_drag_diffusion.py): ROOT/CATEGORY/SAMPLE/
 * original_image.png and meta_data.pkl; hidden entries (.DS_Store) are skipped, as the scripts skip .DS_Store.
 * Registered in META-INF/services/dev.dragedit.eval.DragBenchReader.
 */
public final class PickleDragBenchReader implements DragBenchReader {
    /** A meta_data.pkl larger than this is not DragBench's (a 4096² uint8 mask is 16 MiB). */
    static final long MAX_META_BYTES = 80L << 20;

    @Override
    public List<DragBenchSample> read(Path root) throws IOException {
        if (!Files.exists(root)) throw new IOException(root + ": no such folder (expected DragBench's drag_bench_data)");
        if (!Files.isDirectory(root)) throw new IOException(root + ": not a folder (expected DragBench's drag_bench_data)");
        List<DragBenchSample> out = new ArrayList<>();
        for (Path cat : children(root)) {
            for (Path sample : children(cat)) out.add(sample(cat.getFileName().toString(), sample));
        }
        if (out.isEmpty())
            throw new IOException(root + ": no DragBench samples (expected CATEGORY/SAMPLE/original_image.png and meta_data.pkl below it)");
        return out;
    }

    /** The sub-folders of {@code dir}, sorted by name, hidden ones left out. */
    private static List<Path> children(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted().toList();
        }
    }

    static DragBenchSample sample(String category, Path dir) throws IOException {
        Path png = dir.resolve("original_image.png"), pkl = dir.resolve("meta_data.pkl");
        for (Path f : List.of(png, pkl))
            if (!Files.isRegularFile(f)) throw new IOException(f + ": missing (each DragBench sample has original_image.png and meta_data.pkl)");
        long size = Files.size(pkl);
        if (size > MAX_META_BYTES) throw new IOException(pkl + ": " + size + " bytes, too large for DragBench meta data");
        DragBenchMetaData meta;
        try {
            meta = DragBenchMetaData.parse(Files.readAllBytes(pkl), pkl.toString());
        } catch (ConvertException e) {
            throw new IOException(e.getMessage(), e);
        }
        Images.Rgb image = Images.read(png);
        int h = image.height(), w = image.width();
        if (meta.mask() != null && (meta.maskHeight() != h || meta.maskWidth() != w))
            throw new IOException(pkl + ": mask is " + meta.maskWidth() + "×" + meta.maskHeight() + " but " + png.getFileName() + " is " + image.size());
        for (int i = 0; i < meta.points().length; i++) {
            double[] p = meta.points()[i];
            if (p[0] < 0 || p[1] < 0 || p[0] > w || p[1] > h)
                throw new IOException(pkl + ": point " + i + " (" + p[0] + ", " + p[1] + ") lies outside the " + image.size() + " image");
        }
        return new DragBenchSample(category, dir.getFileName().toString(), image, meta.points(), meta.mask(), meta.prompt());
    }
}
