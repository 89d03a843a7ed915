package dev.dragedit.models.sd;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Key spellings of a diffusers AutoencoderKL checkpoint. The model asks for the names diffusers v0.24.0 writes
 * ({@code …mid_block.attentions.0.to_q/to_k/to_v/to_out.0}); files saved by diffusers before the attention refactor
 * (including, as far as is known, the SD1.5 repository's vae/) name the same four linears {@code query}, {@code key},
 * {@code value} and {@code proj_attn}. diffusers renames those on load (modeling_utils'
 * {@code _convert_deprecated_attention_blocks}); {@link #canonical} does the same rename, used as the key rewriter of
 * {@link dev.dragedit.models.nn.Weights#open}, so either spelling loads and a file holding both is refused there.
 * <p>
 * Only the names are rewritten: the old layers were nn.Linear too, stored [C, C], and that is the only shape
 * accepted (the [C, C, 1, 1] conv form belongs to single-file LDM checkpoints, whose converter squeezes it).
 */
public final class VaeKeys {
    private VaeKeys() {}

    /** "<prefix>.attentions.<n>.(query|key|value|proj_attn).(weight|bias)". */
    private static final Pattern OLD_ATTENTION =
            Pattern.compile("^(.*\\.attentions\\.\\d+\\.)(query|key|value|proj_attn)\\.(weight|bias)$");

    /** The v0.24.0 spelling of a VAE checkpoint key (keys already in that spelling are returned unchanged). */
    public static String canonical(String key) {
        Matcher m = OLD_ATTENTION.matcher(key);
        if (!m.matches()) return key;
        String layer = switch (m.group(2)) {
            case "query" -> "to_q";
            case "key" -> "to_k";
            case "value" -> "to_v";
            default -> "to_out.0";
        };
        return m.group(1) + layer + "." + m.group(3);
    }

    /** The pre-refactor spelling of a v0.24.0 key (the inverse of {@link #canonical}; other keys unchanged). */
    public static String legacy(String key) {
        Matcher m = Pattern.compile("^(.*\\.attentions\\.\\d+\\.)(to_q|to_k|to_v|to_out\\.0)\\.(weight|bias)$").matcher(key);
        if (!m.matches()) return key;
        String layer = switch (m.group(2)) {
            case "to_q" -> "query";
            case "to_k" -> "key";
            case "to_v" -> "value";
            default -> "proj_attn";
        };
        return m.group(1) + layer + "." + m.group(3);
    }
}
