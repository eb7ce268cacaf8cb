package org.moe4j.infer;

import java.util.Objects;

/** One message of a chat conversation, as the OpenAI API sends it: a role (system, user, assistant...) and text. */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }
}
