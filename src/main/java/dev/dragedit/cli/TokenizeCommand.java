package dev.dragedit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.models.clip.ClipTokenizer;
import dev.dragedit.models.sd.SdModels;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code dragedit tokenize}: the 77 input ids Stable Diffusion feeds its text encoder for each text — the CLIP
 * tokenizer (OpenAI CLIP simple_tokenizer.py SimpleTokenizer.encode, as transformers' CLIPTokenizer pads it for
 * diffusers' StableDiffusionPipeline: start id, the first 75 BPE ids, end id, padding). Plain output is one line of
 * space-separated ids per text; {@code --json} prints one JSON object per text with the text, its BPE ids
 * (untruncated), their vocabulary strings and the 77 input ids — the fields of the clip-tokenizer fixture.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"Print the 77 CLIP input ids of each TEXT (one line per text).",
                "--json prints one JSON object per text: text, ids (BPE, untruncated), tokens, input_ids."})
final class TokenizeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "A tokenizer folder (vocab.json, merges.txt), or a Stable Diffusion folder with a tokenizer/ sub-folder "
                    + "(default: the bundled SD1.x tokenizer).")
    Path tokenizer;

    @Option(names = "--json", description = "One JSON object per text instead of bare ids.")
    boolean json;

    @Parameters(arity = "1..*", paramLabel = "TEXT", description = "The texts (quote each one).")
    List<String> texts;

    @Override
    public Integer call() throws Exception {
        ClipTokenizer tok = tokenizer == null ? ClipTokenizer.bundled() : ClipTokenizer.load(SdModels.componentDir(tokenizer, SdModels.TOKENIZER));
        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper om = new ObjectMapper();
        for (String text : texts) {
            long[] inputIds = tok.inputIds(text);
            if (json) {
                int[] ids = tok.encode(text);
                ObjectNode o = om.createObjectNode();
                o.put("text", text);
                ArrayNode a = o.putArray("ids");
                for (int id : ids) a.add(id);
                ArrayNode t = o.putArray("tokens");
                for (String s : tok.tokens(ids)) t.add(s);
                ArrayNode in = o.putArray("input_ids");
                for (long id : inputIds) in.add(id);
                out.println(om.writeValueAsString(o));
            } else {
                StringBuilder sb = new StringBuilder();
                for (long id : inputIds) sb.append(sb.length() == 0 ? "" : " ").append(id);
                out.println(sb);
            }
        }
        return Main.EXIT_OK;
    }
}
