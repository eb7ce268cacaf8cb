import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.moe4j.io.tokenizer.BpeTokenizer;
import org.moe4j.io.tokenizer.BpeTrainer;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.io.tokenizer.TokenizerJson;

/**
 * Step 1 of make_fixtures.sh: trains the small byte-level BPE whose tokenizer.json Hugging Face then encodes.
 * Usage: java -cp CLASSPATH MakeFixtureTokenizer.java KJV_TXT OUT_JSON
 */
public class MakeFixtureTokenizer {
    public static void main(String[] args) throws Exception {
        String kjv = Files.readString(Path.of(args[0]), StandardCharsets.UTF_8);
        // The first 200,000 characters (Genesis), 512 ids: small enough to commit, large enough for real merges.
        BpeTokenizer t = BpeTrainer.train(kjv.substring(0, 200_000), 512, Tokenizer.DEFAULT_SPECIALS);
        TokenizerJson.write(t, Path.of(args[1]));
        System.out.println("wrote " + args[1] + ": " + t);
    }
}
