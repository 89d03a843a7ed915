package dev.dragedit.eval;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * Reads a DragBench folder (DragDiffusion's drag_bench_evaluation/drag_bench_data: CATEGORY/SAMPLE/original_image.png
 * and meta_data.pkl). The meta data is a Python pickle holding a numpy array, so the reader lives in the weights
 * converter (which has the restricted unpickler) and is found through {@link ServiceLoader}: the engine alone has
 * none, and {@code eval --suite dragbench} then says so.
 */
public interface DragBenchReader {
    /**
     * Every sample under {@code root}, ordered by category then name. A missing folder, a folder without samples or a
     * malformed sample is an {@link IOException} whose message names the file.
     */
    List<DragBenchSample> read(Path root) throws IOException;

    /** The first implementation on the class path, if any. */
    static Optional<DragBenchReader> find() {
        try {
            return ServiceLoader.load(DragBenchReader.class).findFirst();
        } catch (ServiceConfigurationError e) {
            throw new IllegalStateException("a META-INF/services/" + DragBenchReader.class.getName() + " entry is broken: " + e.getMessage(), e);
        }
    }
}
