package org.moe4j.serve;

import java.util.List;
import org.moe4j.infer.LoadedModel;

/**
 * Renders chat messages into the prompt text a model continues. The seam for model chat templates: a renderer of
 * the model's own template (a Jinja subset) plugs in through {@link #forModel}; until then every model gets
 * {@link PlainChatFormatter}.
 */
@FunctionalInterface
public interface ChatFormatter {
    /** The prompt for {@code messages} (at least one), ending where the assistant's reply begins. */
    String render(List<ChatMessage> messages);

    /** The formatter for {@code model}: its chat template when it has one (not yet read), else the plain one. */
    static ChatFormatter forModel(LoadedModel model) {
        return new PlainChatFormatter();
    }
}
