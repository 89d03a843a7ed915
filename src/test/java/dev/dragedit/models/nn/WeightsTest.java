package dev.dragedit.models.nn;

import dev.dragedit.io.SafeTensors;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Strict checkpoint lookup: missing keys, wrong shapes, unused tensors and key rewriting; random weights. */
class WeightsTest {
    @TempDir Path dir;

    private Path file(String name, Map<String, Tensor> tensors) throws Exception {
        Path p = dir.resolve(name);
        SafeTensors.write(p, tensors);
        return p;
    }

    private static Map<String, Tensor> linear(String prefix) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(prefix + ".weight", Tensor.of(new float[]{1, 2, 3, 4, 5, 6}, 2, 3));
        m.put(prefix + ".bias", Tensor.of(new float[]{7, 8}, 2));
        return m;
    }

    @Test
    void aModelTakesEveryTensorByKeyAndShape() throws Exception {
        Weights w = Weights.open(Placement.cpu(), file("a.safetensors", linear("fc")));
        Linear l = new Linear(w.sub("fc"), 3, 2, true);
        w.finish();
        assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, l.weight.data());
        assertArrayEquals(new float[]{7, 8}, l.bias.data());
    }

    @Test
    void missingWrongShapedAndUnusedTensorsAreNamed() throws Exception {
        Path f = file("b.safetensors", linear("fc"));
        WeightsException e = assertThrows(WeightsException.class, () -> new Linear(Weights.open(Placement.cpu(), f).sub("fd"), 3, 2, true));
        assertTrue(e.getMessage().contains("missing tensor fd.weight [2, 3]") && e.getMessage().contains("b.safetensors"), e.getMessage());
        e = assertThrows(WeightsException.class, () -> new Linear(Weights.open(Placement.cpu(), f).sub("fc"), 2, 3, true));
        assertTrue(e.getMessage().contains("fc.weight") && e.getMessage().contains("has shape [2, 3], expected [3, 2]"), e.getMessage());
        Weights w = Weights.open(Placement.cpu(), f);
        new Linear(w.sub("fc"), 3, 2, false);
        e = assertThrows(WeightsException.class, w::finish);
        assertTrue(e.getMessage().contains("1 tensor") && e.getMessage().contains("fc.bias"), e.getMessage());
    }

    @Test
    void keysCanBeRewrittenAndF16IsWidenedOnTheCpu() throws Exception {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("old.w", Tensor.of(new float[]{0.5f, -2f}, 2).to(DType.F16));
        Weights w = Weights.open(Placement.cpu(), k -> k.replace("old.", "new."), file("c.safetensors", m));
        Tensor t = w.param("new.w", 2);
        assertEquals(DType.F32, t.dtype());
        assertArrayEquals(new float[]{0.5f, -2f}, t.data());
        w.finish();
        Path twice = file("d.safetensors", Map.of("new.w", Tensor.of(new float[]{1, 2}, 2)));
        WeightsException e = assertThrows(WeightsException.class,
                () -> Weights.open(Placement.cpu(), k -> k.replace("old.", "new."), dir.resolve("c.safetensors"), twice));
        assertTrue(e.getMessage().contains("both the parameter new.w"), e.getMessage());
    }

    @Test
    void randomWeightsAreDeterministicPerKeyAndShapedLikePyTorchDefaults() {
        RandomWeights a = new RandomWeights(7, Placement.cpu()), b = new RandomWeights(7, Placement.cpu());
        Tensor wa = a.param("x.weight", 64, 16);
        b.param("y.weight", 3, 3);   // a different request order does not change x.weight
        assertArrayEquals(wa.data(), b.param("x.weight", 64, 16).data());
        double bound = 1 / Math.sqrt(16), max = 0;
        for (float v : wa.data()) max = Math.max(max, Math.abs(v));
        assertTrue(max <= bound && max > 0.8 * bound, "U(-1/sqrt(fan_in), 1/sqrt(fan_in)): max " + max);
        assertArrayEquals(new float[]{1, 1, 1}, a.param("norm.weight", 3).data());
        assertArrayEquals(new float[]{0, 0, 0}, a.param("norm.bias", 3).data());
        assertFalse(java.util.Arrays.equals(wa.data(), new RandomWeights(8, Placement.cpu()).param("x.weight", 64, 16).data()));
        assertEquals(java.util.List.of("x.weight", "norm.weight", "norm.bias"), java.util.List.copyOf(a.params().keySet()));
    }
}
