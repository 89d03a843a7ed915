package dev.dragedit.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The identity of the Stable Diffusion model an edit used, for its sidecar: SHA-256 of every file the load reads
 * (each component's config, the weights file of the chosen variant, the tokenizer's files, the scheduler config,
 * model_index.json), and one hash over the sorted "relative path  file hash" lines, so two folders with the same
 * content have the same model hash wherever they live. Symbolic links are followed (hashes are of contents).
 */
record ModelHash(String sha256, Map<String, String> files) {

    /** Hashes the files {@code StableDiffusion.load(dir, …, variant)} reads. */
    static ModelHash of(Path dir, String variant) throws IOException {
        String v = variant == null || variant.isEmpty() ? "" : "." + variant;
        List<String> rel = new ArrayList<>(List.of("model_index.json", "unet/config.json", "unet/diffusion_pytorch_model" + v + ".safetensors",
                "vae/config.json", "vae/diffusion_pytorch_model" + v + ".safetensors", "text_encoder/config.json",
                "text_encoder/model" + v + ".safetensors", "scheduler/scheduler_config.json"));
        Path tok = dir.resolve("tokenizer");
        if (Files.isDirectory(tok))
            try (Stream<Path> s = Files.list(tok)) {
                s.filter(Files::isRegularFile).map(p -> "tokenizer/" + p.getFileName()).sorted().forEach(rel::add);
            }
        Map<String, String> files = new LinkedHashMap<>();
        StringBuilder manifest = new StringBuilder();
        for (String r : rel.stream().sorted().toList()) {
            Path p = dir.resolve(r);
            if (!Files.isRegularFile(p)) continue;
            String h = sha256(p);
            files.put(r, h);
            manifest.append(r).append("  ").append(h).append('\n');
        }
        return new ModelHash(hex(digest().digest(manifest.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8))), files);
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md = digest();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return hex(md.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this Java runtime has no SHA-256", e);
        }
    }

    private static String hex(byte[] b) { return HexFormat.of().formatHex(b); }
}
