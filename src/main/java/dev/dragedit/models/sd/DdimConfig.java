package dev.dragedit.models.sd;

import com.fasterxml.jackson.databind.JsonNode;
import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.WeightsException;

import java.nio.file.Path;

/**
 * The configuration of diffusers' {@code DDIMScheduler} (diffusers v0.24.0, schedulers/scheduling_ddim.py,
 * {@code DDIMScheduler.__init__}), read from a scheduler_config.json.
 * <p>
 * A {@code DDIMScheduler} file is taken as diffusers reads it, with the constructor's defaults for missing keys
 * (clip_sample true, set_alpha_to_one true, steps_offset 0). The scheduler files of Stable Diffusion 1.x repos name
 * another class ({@code PNDMScheduler} for runwayml/stable-diffusion-v1-5); there, as diffusers'
 * {@code DDIMScheduler.from_config} and DragDiffusion's {@code run_drag} do, only the noise-schedule parameters are
 * taken (betas, num_train_timesteps, set_alpha_to_one, steps_offset, prediction_type, timestep_spacing), with
 * DragDiffusion's values where the file has none (set_alpha_to_one false, steps_offset 1), and clip_sample is forced
 * to false: DragDiffusion builds {@code DDIMScheduler(..., clip_sample=False, ...)}, and SD latents are not in
 * [-1, 1], so clipping x0 would be wrong for them.
 *
 * @param trainedBetas explicit betas ({@code trained_betas}), or null to compute them from the schedule
 */
public record DdimConfig(int numTrainTimesteps, double betaStart, double betaEnd, String betaSchedule, float[] trainedBetas,
                         boolean clipSample, double clipSampleRange, boolean setAlphaToOne, int stepsOffset,
                         String predictionType, String timestepSpacing, boolean rescaleBetasZeroSnr, String source) {

    /** The beta schedules of diffusers' DDIMScheduler. */
    public static final java.util.List<String> SCHEDULES = java.util.List.of("linear", "scaled_linear", "squaredcos_cap_v2");
    public static final java.util.List<String> PREDICTION_TYPES = java.util.List.of("epsilon", "sample", "v_prediction");
    public static final java.util.List<String> SPACINGS = java.util.List.of("leading", "trailing", "linspace");

    public DdimConfig {
        String where = "scheduler config " + (source == null ? "" : source + " ");
        if (numTrainTimesteps < 2 || numTrainTimesteps > 100_000)
            throw new WeightsException(where + "num_train_timesteps " + numTrainTimesteps + ": expected 2 to 100000");
        if (trainedBetas != null) {
            trainedBetas = trainedBetas.clone();
            if (trainedBetas.length != numTrainTimesteps)
                throw new WeightsException(where + "trained_betas has " + trainedBetas.length + " values, expected num_train_timesteps = " + numTrainTimesteps);
            for (float b : trainedBetas)
                if (!(b >= 0f && b < 1f)) throw new WeightsException(where + "trained_betas holds " + b + ", expected values in [0, 1)");
        } else {
            if (!SCHEDULES.contains(betaSchedule))
                throw new WeightsException(where + "beta_schedule \"" + betaSchedule + "\" is not supported, expected one of " + SCHEDULES);
            if (!betaSchedule.equals("squaredcos_cap_v2")
                    && !(betaStart > 0 && betaStart < 1 && betaEnd > 0 && betaEnd < 1))
                throw new WeightsException(where + "beta_start " + betaStart + " and beta_end " + betaEnd + ": expected values in (0, 1)");
        }
        if (!PREDICTION_TYPES.contains(predictionType))
            throw new WeightsException(where + "prediction_type \"" + predictionType + "\" is not supported, expected one of " + PREDICTION_TYPES);
        if (!SPACINGS.contains(timestepSpacing))
            throw new WeightsException(where + "timestep_spacing \"" + timestepSpacing + "\" is not supported, expected one of " + SPACINGS);
        if (stepsOffset < 0 || stepsOffset >= numTrainTimesteps)
            throw new WeightsException(where + "steps_offset " + stepsOffset + ": expected 0 to num_train_timesteps - 1");
        if (clipSample && !(clipSampleRange > 0))
            throw new WeightsException(where + "clip_sample_range " + clipSampleRange + ": expected a positive number");
    }

    @Override public float[] trainedBetas() { return trainedBetas == null ? null : trainedBetas.clone(); }

    /**
     * Stable Diffusion 1.5 as DragDiffusion schedules it (utils/ui_utils.py {@code run_drag}):
     * {@code DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
     * set_alpha_to_one=False, steps_offset=1)}, 1000 training steps, epsilon prediction, "leading" spacing.
     */
    public static DdimConfig sd15() {
        return new DdimConfig(1000, 0.00085, 0.012, "scaled_linear", null, false, 1.0, false, 1,
                "epsilon", "leading", false, "sd15");
    }

    /**
     * Reads a scheduler_config.json, or the one in a scheduler/ folder given instead (see the class comment for how
     * non-DDIM classes are read).
     */
    public static DdimConfig read(Path file) {
        return from(ModelConfig.read(java.nio.file.Files.isDirectory(file) ? file.resolve("scheduler_config.json") : file));
    }

    public static DdimConfig from(ModelConfig c) {
        String src = c.source();
        String cls = c.getString("_class_name", "DDIMScheduler");
        boolean ddim = cls.equals("DDIMScheduler");
        if (c.getBool("thresholding", false))
            throw new WeightsException("scheduler config " + src + ": \"thresholding\": true (dynamic thresholding of pixel-space "
                    + "models) is not supported; Stable Diffusion's latent models use false");
        float[] trained = null;
        if (c.has("trained_betas")) {
            JsonNode v = c.json().get("trained_betas");
            if (!v.isArray()) throw new WeightsException("scheduler config " + src + ": \"trained_betas\" is " + v + ", expected a list of numbers or null");
            trained = new float[v.size()];
            for (int i = 0; i < trained.length; i++) {
                if (!v.get(i).isNumber()) throw new WeightsException("scheduler config " + src + ": \"trained_betas\"[" + i + "] is " + v.get(i) + ", expected a number");
                trained[i] = (float) v.get(i).doubleValue(); // torch.tensor(trained_betas, dtype=torch.float32)
            }
        }
        return new DdimConfig(
                c.getInt("num_train_timesteps", 1000),
                c.getDouble("beta_start", 0.0001),
                c.getDouble("beta_end", 0.02),
                c.getString("beta_schedule", "linear"),
                trained,
                ddim && c.getBool("clip_sample", true),
                c.getDouble("clip_sample_range", 1.0),
                c.getBool("set_alpha_to_one", ddim),
                c.getInt("steps_offset", ddim ? 0 : 1),
                c.getString("prediction_type", "epsilon"),
                c.getString("timestep_spacing", "leading"),
                c.getBool("rescale_betas_zero_snr", false),
                src);
    }
}
