// The weights converter's ModelResolver: converts a single-file checkpoint (and/or merges LoRAs) once into
// ModelResolver.cacheRoot()/<sha256>/, keyed by the content of every input file and the LoRA scales, so a renamed
// copy hits the cache and an edited file does not. Concurrent runs are safe: each converts into its own temporary
// folder and renames it into place; a loser of that race finds the winner's folder and uses it. A single file has no
// tokenizer; -Ddragedit.tokenizer or DRAGEDIT_TOKENIZER names a tokenizer folder to copy in (diffusers' loaders
// fetch it from the hub, which we cannot).
package dev.dragedit.convert;

import dev.dragedit.convert.ldm.LdmConverter;
import dev.dragedit.convert.lora.LoraMerger;
import dev.dragedit.models.ModelResolver;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Single file / LoRA -> cached diffusers folder. */
public final class CachingResolver implements ModelResolver {
    @Override
    public Path resolve(Path input, List<String> loras) throws IOException {
        MessageDigest md = sha256();
        if (Files.isDirectory(input)) {
            // A folder's content is large; its identity is its path and the modification times of its weights.
            md.update(input.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
            boolean component = !Files.isDirectory(input.resolve("unet"));
            for (String c : component ? new String[]{"."} : new String[]{"unet", "vae", "text_encoder"}) {
                try (var s = Files.list(input.resolve(c))) {
                    for (Path f : s.sorted().toList())
                        md.update((f.getFileName() + "@" + Files.getLastModifiedTime(f).toMillis()).getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw new ConvertException(input + ": not a diffusers folder (no " + c + "/)");
                }
            }
        } else {
            digestFile(md, input);
        }
        List<LoraMerger.Lora> ls = new ArrayList<>();
        for (String s : loras) {
            LoraMerger.Lora l = LoraMerger.Lora.parse(s);
            ls.add(l);
            md.update(("lora:" + l.scale() + ":").getBytes(StandardCharsets.UTF_8));
            digestFile(md, l.file());
        }
        Path tokenizer = tokenizer();
        if (tokenizer != null) md.update(("tokenizer:" + tokenizer.toAbsolutePath().normalize()).getBytes(StandardCharsets.UTF_8));
        Path dir = ModelResolver.cacheRoot().resolve(HexFormat.of().formatHex(md.digest()));
        if (Files.isRegularFile(dir.resolve("model_index.json"))) return dir;
        try {
            LdmConverter.convert(input, dir, new LdmConverter.Options(tokenizer, null, ls, null));
        } catch (ConvertException e) {
            if (Files.isRegularFile(dir.resolve("model_index.json"))) return dir; // another run finished it first
            throw e;
        }
        return dir;
    }

    /** The tokenizer folder to add to converted single files, if the user named one. */
    static Path tokenizer() throws ConvertException {
        String p = System.getProperty("dragedit.tokenizer", System.getenv("DRAGEDIT_TOKENIZER"));
        if (p == null || p.isBlank()) return null;
        Path d = Path.of(p);
        if (!Files.isRegularFile(d.resolve("vocab.json")))
            throw new ConvertException(d + " (from dragedit.tokenizer / DRAGEDIT_TOKENIZER): not a tokenizer folder (expected vocab.json and merges.txt)");
        return d;
    }

    private static void digestFile(MessageDigest md, Path f) throws IOException {
        if (!Files.isRegularFile(f)) throw new ConvertException(f + ": no such weights file");
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(f)) {
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this Java runtime", e);
        }
    }
}
