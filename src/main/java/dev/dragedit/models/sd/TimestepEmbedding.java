package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.models.nn.Linear;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.tensor.Tensor;

/**
 * The UNet's time conditioning, diffusers models/embeddings.py: {@link #sinusoid} is {@code get_timestep_embedding}
 * (the {@code Timesteps} module, "time_proj", no parameters), and the module itself is {@code TimestepEmbedding}:
 * emb = linear_2(SiLU(linear_1(t_emb))). Keys: linear_1, linear_2.
 */
public final class TimestepEmbedding {
    final Linear linear1, linear2;

    public TimestepEmbedding(ParamSource p, int in, int dim) {
        linear1 = new Linear(p.sub("linear_1"), in, dim, true);
        linear2 = new Linear(p.sub("linear_2"), dim, dim, true);
    }

    /** t_emb [B, in] → [B, dim]. */
    public Tensor forward(Functional f, Tensor tEmb) {
        return linear2.forward(f, f.silu(linear1.forward(f, tEmb)));
    }

    /**
     * get_timestep_embedding(t, dim, flip_sin_to_cos, downscale_freq_shift) for one timestep, row-repeated for the
     * batch: [batch, dim]. Computed in float32 step by step as diffusers does even for a float64 model — exponent_i =
     * float32(float32(−ln 10000)·i) / (half − shift), freq_i = exp(exponent_i), angle_i = float32(t)·freq_i — so the
     * angles round like the reference's (in double they would differ by up to t·6e-8 rad). [sin | cos], or
     * [cos | sin] when flipped; an odd dim gets a zero column at the end.
     */
    public static float[] sinusoid(float t, int dim, boolean flipSinToCos, float freqShift, int batch) {
        int half = dim / 2;
        float negLn = (float) -Math.log(10000.0);
        float div = half - freqShift;
        float[] row = new float[dim];
        for (int i = 0; i < half; i++) {
            float e = (negLn * (float) i) / div;
            float freq = (float) Math.exp(e);
            float a = t * freq;
            float s = (float) Math.sin(a), c = (float) Math.cos(a);
            row[flipSinToCos ? i : half + i] = c;
            row[flipSinToCos ? half + i : i] = s;
        }
        float[] out = new float[batch * dim];
        for (int b = 0; b < batch; b++) System.arraycopy(row, 0, out, b * dim, dim);
        return out;
    }
}
