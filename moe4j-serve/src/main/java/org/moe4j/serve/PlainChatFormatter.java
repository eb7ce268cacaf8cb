package org.moe4j.serve;

import java.util.List;
import java.util.Locale;

/**
 * The plain chat template, for models without their own: each message as its capitalised role, a colon, a space,
 * its content and a blank line; then {@code "Assistant:"}, which the model continues. For example
 * <pre>
 * System: Be brief.
 *
 * User: Hi
 *
 * Assistant:</pre>
 */
public final class PlainChatFormatter implements ChatFormatter {
    @Override
    public String render(List<ChatMessage> messages) {
        StringBuilder sb = new StringBuilder();
        for (ChatMessage m : messages) {
            sb.append(m.role().substring(0, 1).toUpperCase(Locale.ROOT)).append(m.role().substring(1))
                    .append(": ").append(m.content()).append("\n\n");
        }
        return sb.append("Assistant:").toString();
    }
}
