// OpenAI CLIP's byte-level BPE tokenizer (https://github.com/openai/CLIP clip/simple_tokenizer.py, SimpleTokenizer
// .encode) as Stable Diffusion 1.x feeds its text encoder, read from a Hugging Face tokenizer folder (vocab.json +
// merges.txt, as transformers' CLIPTokenizer saves them). encode(text):
//   1. ftfy.fix_text (TextFixer), 2. html.unescape twice (HtmlEntities), 3. strip, 4. runs of white space → one
//   space, strip, 5. Python str.lower() (PyText), 6. split into pieces (the special tokens, the contractions 's 't 're
//   've 'm 'll 'd, letter runs, single digits/numbers, runs of other non-space characters; case-insensitive), 7. each
//   piece's UTF-8 bytes as byte symbols, merged by BPE (lowest-ranked adjacent pair first, all its occurrences left to
//   right), looked up in the vocabulary.
// inputIds(text) is the 77-id row SD uses: <|startoftext|>, the first 75 ids, <|endoftext|>, padded with the pad
// token (<|endoftext|> for SD 1.x).
package dev.dragedit.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.models.nn.WeightsException;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

public final class ClipTokenizer {
    public static final String START = "<|startoftext|>", END = "<|endoftext|>";
    /** Limits on the files (SD 1.5's vocab.json is about 1 MiB, merges.txt 0.5 MiB). */
    static final long MAX_FILE_BYTES = 64L << 20;
    static final int MAX_VOCAB = 1 << 20;
    /** transformers' CLIPTokenizer uses the first 49152 − 256 − 2 merge lines, as OpenAI's file read does. */
    static final int MAX_MERGES = 49152 - 256 - 2;
    /** Longest accepted text, in chars (ftfy fixes at most 10^6 code points per segment; prompts are short). */
    public static final int MAX_TEXT_CHARS = 1_000_000;
    private static final int CACHE_LIMIT = 1 << 16;

    private final Map<String, Integer> encoder;
    private final Map<String, Integer> ranks;
    private final String[] byteSymbol = new String[256];
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    private final int startId, endId, padId, contextLength;
    private final String source;

    private ClipTokenizer(Map<String, Integer> encoder, Map<String, Integer> ranks, String padToken, int contextLength, String source) {
        this.encoder = encoder;
        this.ranks = ranks;
        this.source = source;
        this.contextLength = contextLength;
        int[] cs = byteToUnicode();
        for (int b = 0; b < 256; b++) byteSymbol[b] = String.valueOf((char) cs[b]);
        startId = id(START);
        endId = id(END);
        padId = id(padToken);
        if (contextLength < 2) throw new WeightsException("tokenizer " + source + ": model_max_length " + contextLength + " leaves no room for the start and end tokens");
    }

    private int id(String token) {
        Integer i = encoder.get(token);
        if (i == null) throw new WeightsException("tokenizer " + source + ": vocab.json has no entry for " + token);
        return i;
    }

    /** The files of the bundled tokenizer: Stable Diffusion 1.x's (OpenAI CLIP's BPE vocabulary, MIT licence). */
    private static final String[] BUNDLED = {"vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"};

    /**
     * Writes the tokenizer every SD1.x checkpoint uses (bundled in the jar: vocab.json, merges.txt and the two config
     * files of SD 1.5's tokenizer/ folder) into {@code dir}, which must not exist yet: for single-file checkpoints,
     * which carry no tokenizer.
     */
    public static void writeBundled(Path dir) throws IOException {
        Files.createDirectory(dir);
        for (String name : BUNDLED) {
            try (var in = ClipTokenizer.class.getResourceAsStream("sd15-tokenizer/" + name)) {
                if (in == null) throw new IOException("the bundled tokenizer file " + name + " is missing from the jar");
                Files.copy(in, dir.resolve(name));
            }
        }
    }

    /** The bundled SD1.x tokenizer (see {@link #writeBundled}), read through a temporary copy of its files. */
    public static ClipTokenizer bundled() {
        Path tmp = null;
        try {
            tmp = Files.createTempDirectory("dragedit-tokenizer");
            Path dir = tmp.resolve("tokenizer");
            writeBundled(dir);
            return load(dir);
        } catch (IOException e) {
            throw new WeightsException("tokenizer: cannot unpack the bundled tokenizer: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try (var walk = Files.walk(tmp)) {
                    walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                } catch (IOException ignored) {
                    // a leftover temporary copy is harmless
                }
            }
        }
    }

    /**
     * A tokenizer folder: vocab.json and merges.txt (required), special_tokens_map.json / tokenizer_config.json
     * (optional: pad_token, model_max_length; defaults <|endoftext|> and 77).
     */
    public static ClipTokenizer load(Path dir) {
        Path vocabFile = dir.resolve("vocab.json"), mergesFile = dir.resolve("merges.txt");
        ObjectMapper om = new ObjectMapper();
        JsonNode vocab = readJson(om, vocabFile, true);
        if (!vocab.isObject()) throw new WeightsException("tokenizer: " + vocabFile + " is not a JSON object of token → id");
        if (vocab.size() > MAX_VOCAB) throw new WeightsException("tokenizer: " + vocabFile + " has " + vocab.size() + " entries, more than " + MAX_VOCAB);
        Map<String, Integer> encoder = new HashMap<>(vocab.size() * 2);
        for (var it = vocab.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().isIntegralNumber() || !e.getValue().canConvertToInt() || e.getValue().intValue() < 0
                    || e.getValue().intValue() >= MAX_VOCAB)
                throw new WeightsException("tokenizer: " + vocabFile + ": the id of " + e.getKey() + " is " + e.getValue()
                        + ", expected an integer in [0, " + MAX_VOCAB + ")");
            encoder.put(e.getKey(), e.getValue().intValue());
        }
        Map<String, Integer> ranks = readMerges(mergesFile);

        String pad = END;
        int ctx = 77;
        JsonNode special = readJson(om, dir.resolve("special_tokens_map.json"), false);
        JsonNode config = readJson(om, dir.resolve("tokenizer_config.json"), false);
        for (JsonNode n : new JsonNode[]{config, special}) { // the special-tokens map wins, as in transformers
            if (n == null || !n.has("pad_token")) continue;
            JsonNode p = n.get("pad_token");
            if (p.isTextual()) pad = p.textValue();
            else if (p.isObject() && p.path("content").isTextual()) pad = p.get("content").textValue();
        }
        if (config != null && config.has("model_max_length")) {
            JsonNode m = config.get("model_max_length");
            // transformers writes a huge number when the length is unbounded; CLIP's position table is 77 long.
            if (m.isIntegralNumber() && m.canConvertToInt() && m.intValue() <= 4096) ctx = m.intValue();
        }
        return new ClipTokenizer(encoder, ranks, pad, ctx, dir.toString());
    }

    private static JsonNode readJson(ObjectMapper om, Path f, boolean required) {
        try {
            if (!Files.isRegularFile(f)) {
                if (required) throw new WeightsException("tokenizer: " + f + " does not exist (a CLIP tokenizer folder holds vocab.json and merges.txt)");
                return null;
            }
            if (Files.size(f) > MAX_FILE_BYTES) throw new WeightsException("tokenizer: " + f + " is " + Files.size(f) + " bytes, more than " + MAX_FILE_BYTES);
            return om.readTree(f.toFile());
        } catch (IOException e) {
            throw new WeightsException("tokenizer: cannot parse " + f + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Integer> readMerges(Path f) {
        try {
            if (!Files.isRegularFile(f)) throw new WeightsException("tokenizer: " + f + " does not exist (a CLIP tokenizer folder holds vocab.json and merges.txt)");
            if (Files.size(f) > MAX_FILE_BYTES) throw new WeightsException("tokenizer: " + f + " is " + Files.size(f) + " bytes, more than " + MAX_FILE_BYTES);
            Map<String, Integer> ranks = new HashMap<>(1 << 17);
            try (BufferedReader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
                String line = r.readLine();
                int lineNo = 1;
                if (line != null && !line.startsWith("#version")) throw new WeightsException("tokenizer: " + f + " line 1 is \"" + abbreviate(line) + "\", expected the \"#version: ...\" header of a merges file");
                while ((line = r.readLine()) != null && ranks.size() < MAX_MERGES) {
                    lineNo++;
                    if (line.isEmpty()) continue; // the trailing newline (transformers strips the text)
                    String[] parts = line.split(" ");
                    if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty())
                        throw new WeightsException("tokenizer: " + f + " line " + lineNo + " is \"" + abbreviate(line) + "\", expected two symbols separated by one space");
                    ranks.putIfAbsent(parts[0] + " " + parts[1], ranks.size());
                }
            }
            return ranks;
        } catch (IOException e) {
            throw new WeightsException("tokenizer: cannot read " + f + ": " + e.getMessage(), e);
        }
    }

    private static String abbreviate(String s) { return s.length() > 60 ? s.substring(0, 60) + "..." : s; }

    /** bytes_to_unicode: the printable Latin-1 bytes stand for themselves, the other 68 map to U+0100.. in order. */
    static int[] byteToUnicode() {
        int[] cs = new int[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int n = 0;
        for (int b = 0; b < 256; b++) cs[b] = printable[b] ? b : 256 + n++;
        return cs;
    }

    public int startId() { return startId; }
    public int endId() { return endId; }
    public int padId() { return padId; }
    public int contextLength() { return contextLength; }
    public int vocabSize() { return encoder.size(); }

    /** Steps 1-5: the string the split is applied to (cases.jsonl "cleaned"). */
    public static String clean(String text) {
        if (text.length() > MAX_TEXT_CHARS) throw new IllegalArgumentException("text of " + text.length() + " chars is longer than " + MAX_TEXT_CHARS);
        String t = TextFixer.fixText(text);
        t = PyText.strip(HtmlEntities.unescape(HtmlEntities.unescape(t)));
        return PyText.lower(PyText.collapseWhitespace(t));
    }

    /** SimpleTokenizer.encode: the BPE ids of the text, without start/end tokens and not truncated. */
    public int[] encode(String text) {
        List<String> pieces = split(clean(text));
        int[] out = new int[16];
        int n = 0;
        for (String piece : pieces) {
            for (int id : bpeIds(piece)) {
                if (n == out.length) out = Arrays.copyOf(out, 2 * n);
                out[n++] = id;
            }
        }
        return Arrays.copyOf(out, n);
    }

    private volatile String[] decoder;

    /** The vocabulary strings of ids (cases.jsonl "tokens"), for inspection; null for an id the vocabulary lacks. */
    public List<String> tokens(int[] ids) {
        String[] dec = decoder;
        if (dec == null) {
            int max = 0;
            for (int v : encoder.values()) max = Math.max(max, v);
            dec = new String[max + 1];
            for (var e : encoder.entrySet()) dec[e.getValue()] = e.getKey();
            decoder = dec;
        }
        List<String> r = new ArrayList<>(ids.length);
        for (int id : ids) r.add(id >= 0 && id < dec.length ? dec[id] : null);
        return r;
    }

    /** The contextLength ids SD feeds the text encoder: start, the first contextLength−2 ids, end, padding. */
    public long[] inputIds(String text) {
        int[] ids = encode(text);
        long[] row = new long[contextLength];
        Arrays.fill(row, padId);
        row[0] = startId;
        int k = Math.min(ids.length, contextLength - 2);
        for (int i = 0; i < k; i++) row[1 + i] = ids[i];
        row[1 + k] = endId;
        return row;
    }

    /** inputIds of several texts, one row each. */
    public long[][] inputIds(List<String> texts) {
        long[][] r = new long[texts.size()][];
        for (int i = 0; i < r.length; i++) r[i] = inputIds(texts.get(i));
        return r;
    }

    // ------------------------------------------------------------------ split (step 6)

    /**
     * The pieces of SimpleTokenizer's pattern, leftmost first, alternatives in order:
     * {@code <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+}
     * (regex module, IGNORECASE); characters no alternative takes (white space, U+0345) are skipped.
     */
    static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        int n = s.length(), i = 0;
        while (i < n) {
            int c = s.codePointAt(i);
            int end = -1;
            if (c == '<') {
                end = matchEnd(s, i, START);
                if (end < 0) end = matchEnd(s, i, END);
            }
            if (end < 0 && c == '\'') {
                for (String suffix : CONTRACTIONS) {
                    end = matchEnd(s, i + 1, suffix);
                    if (end >= 0) break;
                }
            }
            if (end < 0 && PyText.isLetter(c)) {
                end = i;
                while (end < n && PyText.isLetter(s.codePointAt(end))) end += Character.charCount(s.codePointAt(end));
            }
            if (end < 0 && isNumber(c)) end = i + Character.charCount(c);
            if (end < 0 && isOther(c)) {
                end = i;
                while (end < n && isOther(s.codePointAt(end))) end += Character.charCount(s.codePointAt(end));
            }
            if (end < 0) { i += Character.charCount(c); continue; }
            out.add(s.substring(i, end));
            i = end;
        }
        return out;
    }

    private static final String[] CONTRACTIONS = {"s", "t", "re", "ve", "m", "ll", "d"};

    private static boolean isNumber(int c) { return PyText.isNumber(c); }

    /**
     * {@code [^\s\p{L}\p{N}]} under the regex module's IGNORECASE: a negated class also rejects a character whose
     * other case is in the class, so U+0345 (a combining mark whose upper case is Greek Ι) matches neither this nor
     * the letter class, and the split skips it like white space.
     */
    private static boolean isOther(int c) {
        if (PyText.isRegexSpace(c) || PyText.isLetter(c) || isNumber(c)) return false;
        int u = Character.toUpperCase(c), l = Character.toLowerCase(c);
        return !(u != c && (PyText.isLetter(u) || isNumber(u))) && !(l != c && (PyText.isLetter(l) || isNumber(l)));
    }

    /**
     * The end of the ASCII pattern text matched at s[i..] under simple case folding (so "ſ" matches "s", as the regex
     * module's IGNORECASE does), or −1.
     */
    private static int matchEnd(String s, int i, String ascii) {
        int j = i;
        for (int k = 0; k < ascii.length(); k++) {
            if (j >= s.length()) return -1;
            int c = s.codePointAt(j);
            int p = ascii.charAt(k);
            if (c != p && fold(c) != fold(p)) return -1;
            j += Character.charCount(c);
        }
        return j;
    }

    private static int fold(int c) { return Character.toLowerCase(Character.toUpperCase(c)); }

    // ------------------------------------------------------------------ BPE (step 7)

    private int[] bpeIds(String piece) {
        int[] hit = cache.get(piece);
        if (hit != null) return hit;
        int[] ids;
        if (piece.equals(START)) ids = new int[]{startId};
        else if (piece.equals(END)) ids = new int[]{endId};
        else {
            byte[] utf8 = piece.getBytes(StandardCharsets.UTF_8);
            List<String> word = new ArrayList<>(utf8.length);
            for (byte b : utf8) word.add(byteSymbol[b & 0xFF]);
            word.set(word.size() - 1, word.get(word.size() - 1) + "</w>");
            List<String> symbols = bpe(word);
            ids = new int[symbols.size()];
            for (int k = 0; k < ids.length; k++) {
                Integer id = encoder.get(symbols.get(k));
                if (id == null) throw new IllegalStateException("tokenizer " + source + ": the BPE symbol " + symbols.get(k)
                        + " of \"" + piece + "\" is not in vocab.json (vocab.json and merges.txt do not belong together)");
                ids[k] = id;
            }
        }
        if (cache.size() >= CACHE_LIMIT) cache.clear();
        cache.put(piece, ids);
        return ids;
    }

    /** SimpleTokenizer.bpe on a symbol list. */
    private List<String> bpe(List<String> word) {
        while (word.size() > 1) {
            int best = Integer.MAX_VALUE;
            String first = null, second = null;
            for (int k = 0; k + 1 < word.size(); k++) {
                Integer r = ranks.get(word.get(k) + " " + word.get(k + 1));
                if (r != null && r < best) { best = r; first = word.get(k); second = word.get(k + 1); }
            }
            if (first == null) break;
            List<String> merged = new ArrayList<>(word.size());
            for (int k = 0; k < word.size(); ) {
                if (k + 1 < word.size() && word.get(k).equals(first) && word.get(k + 1).equals(second)) {
                    merged.add(first + second);
                    k += 2;
                } else merged.add(word.get(k++));
            }
            word = merged;
        }
        return word;
    }
}
