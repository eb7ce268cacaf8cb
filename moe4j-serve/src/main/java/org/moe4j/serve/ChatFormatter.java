package org.moe4j.serve;

import java.util.List;
import org.moe4j.infer.ChatMessage;
import org.moe4j.infer.ChatTemplate;

/**
 * Renders chat messages into the prompt text a model continues: the model's chat template
 * ({@link ChatTemplate#forModel}), or the plain documented one ({@link ChatTemplate#PLAIN}) for a model without one.
 */
@FunctionalInterface
public interface ChatFormatter {
    /** The prompt for {@code messages} (at least one), ending where the assistant's reply begins. */
    String render(List<ChatMessage> messages);

    /** The formatter of {@code template}, always adding the generation prompt. */
    static ChatFormatter of(ChatTemplate template) {
        return messages -> template.render(messages, true);
    }

    /** The plain template without bos/eos strings, for models that carry no template. */
    static ChatFormatter plain() {
        return of(ChatTemplate.plain("", ""));
    }
}
