package org.moe4j.serve;

import java.util.List;
import org.moe4j.infer.ChatMessage;
import org.moe4j.infer.SamplingParams;

/**
 * A parsed, type- and range-checked completion or chat completion request.
 *
 * @param chat           a chat completion (then {@code messages}), else a completion (then {@code promptText} or
 *                       {@code promptIds})
 * @param model          the model asked for, or null (the served one)
 * @param promptText     the completion prompt as text, or null
 * @param promptIds      the completion prompt as token ids, or null
 * @param messages       the chat messages, or null
 * @param maxTokens      the most tokens to generate, or null for the endpoint's default
 * @param sampling       how tokens are drawn (a random seed when the request gave none)
 * @param stop           stop strings (up to 4)
 * @param ignoreEos      go on after the end-of-sequence token (extension, as vLLM's)
 * @param stream         answer with Server-Sent Events
 * @param includeUsage   a last stream chunk with the usage ({@code stream_options.include_usage})
 * @param returnTokenIds add the generated token ids to the choice (extension)
 */
public record ApiRequest(boolean chat, String model, String promptText, int[] promptIds, List<ChatMessage> messages,
        Integer maxTokens, SamplingParams sampling, List<String> stop, boolean ignoreEos, boolean stream,
        boolean includeUsage, boolean returnTokenIds) {}
