package org.moe4j.serve;

import java.util.Set;

/**
 * One message of a chat completion request.
 *
 * @param role    one of {@link #ROLES}
 * @param content its text (text parts joined)
 */
public record ChatMessage(String role, String content) {
    /** The roles a request may use. */
    public static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    public ChatMessage {
        if (!ROLES.contains(role)) throw new IllegalArgumentException("chat message: unknown role " + role);
        if (content == null) throw new IllegalArgumentException("chat message: content is required");
    }
}
