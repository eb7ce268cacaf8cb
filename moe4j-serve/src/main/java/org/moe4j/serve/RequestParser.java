package org.moe4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.moe4j.infer.ChatMessage;
import org.moe4j.infer.GenerationOptions;
import org.moe4j.infer.InvalidRequestException;
import org.moe4j.infer.SamplingParams;

/**
 * Reads OpenAI request bodies: every known field is type- and range-checked and named in the error; a field this
 * server does not implement is accepted only at its neutral value (e.g. {@code n} = 1, {@code echo} false);
 * unknown fields are ignored, as OpenAI-compatible servers do, so that newer clients keep working. JSON null means
 * absent.
 */
final class RequestParser {
    /** The roles a chat message may have. */
    static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    /** The most prompt token ids or chat messages a request may carry (the model's context limits it further). */
    static final int MAX_ITEMS = 1 << 20;

    private RequestParser() {}

    static ApiRequest completion(JsonNode body) {
        object(body, "body");
        String text = null;
        int[] ids = null;
        JsonNode prompt = body.get("prompt");
        if (prompt == null || prompt.isNull()) throw ApiException.invalid("prompt", "is required");
        if (prompt.isTextual()) {
            text = prompt.textValue();
        } else if (prompt.isArray()) {
            if (prompt.isEmpty()) throw ApiException.invalid("prompt", "is an empty list");
            JsonNode first = prompt.get(0);
            if (first.isTextual() || first.isArray()) {
                if (prompt.size() != 1) {
                    throw ApiException.unsupported("prompt", "a batch of " + prompt.size()
                            + " prompts; this server takes one prompt per request");
                }
                if (first.isTextual()) text = first.textValue();
                else ids = tokenIds(first, "prompt[0]");
            } else {
                ids = tokenIds(prompt, "prompt");
            }
        } else {
            throw ApiException.invalid("prompt", "must be a string, a list of token ids, or a list of one of these");
        }
        neutral(body, "echo", false);
        neutral(body, "best_of", 1);
        if (present(body, "logprobs")) {
            JsonNode n = body.get("logprobs");
            if (!(n.isIntegralNumber() && n.asLong() == 0)) throw ApiException.unsupported("logprobs", "is not supported");
        }
        if (present(body, "suffix")) {
            JsonNode n = body.get("suffix");
            if (!n.isTextual()) throw ApiException.invalid("suffix", "must be a string");
            if (!n.textValue().isEmpty()) throw ApiException.unsupported("suffix", "is not supported");
        }
        return common(body, false, text, ids, null);
    }

    static ApiRequest chat(JsonNode body) {
        object(body, "body");
        JsonNode messages = body.get("messages");
        if (messages == null || messages.isNull()) throw ApiException.invalid("messages", "is required");
        if (!messages.isArray()) throw ApiException.invalid("messages", "must be a list of messages");
        if (messages.isEmpty()) throw ApiException.invalid("messages", "is empty; give at least one message");
        if (messages.size() > MAX_ITEMS) throw ApiException.invalid("messages", "has more than " + MAX_ITEMS + " items");
        List<ChatMessage> list = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) list.add(message(messages.get(i), "messages[" + i + "]"));
        neutral(body, "logprobs", false);
        neutral(body, "top_logprobs", 0);
        for (String f : List.of("tools", "functions")) {
            if (present(body, f) && !(body.get(f).isArray() && body.get(f).isEmpty())) {
                throw ApiException.unsupported(f, "tool and function calling are not supported");
            }
        }
        if (present(body, "tool_choice")) {
            JsonNode n = body.get("tool_choice");
            if (!(n.isTextual() && (n.textValue().equals("none") || n.textValue().equals("auto")))) {
                throw ApiException.unsupported("tool_choice", "tool calling is not supported; only \"none\" or \"auto\"");
            }
        }
        if (present(body, "response_format")) {
            JsonNode n = body.get("response_format");
            object(n, "response_format");
            JsonNode type = n.get("type");
            if (type == null || !type.isTextual()) throw ApiException.invalid("response_format.type", "must be a string");
            if (!type.textValue().equals("text")) {
                throw ApiException.unsupported("response_format.type", "only \"text\" is supported");
            }
        }
        return common(body, true, null, null, List.copyOf(list));
    }

    private static ChatMessage message(JsonNode m, String where) {
        object(m, where);
        JsonNode role = m.get("role");
        if (role == null || !role.isTextual()) throw ApiException.invalid(where + ".role", "must be a string");
        if (!ROLES.contains(role.textValue())) {
            throw ApiException.invalid(where + ".role", "unknown role '" + clip(role.textValue())
                    + "'; use system, developer, user, assistant or tool");
        }
        JsonNode content = m.get("content");
        String text;
        if (content == null || content.isNull()) {
            throw ApiException.invalid(where + ".content", "is required (tool calls are not supported)");
        } else if (content.isTextual()) {
            text = content.textValue();
        } else if (content.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < content.size(); i++) {
                JsonNode part = content.get(i);
                String p = where + ".content[" + i + "]";
                object(part, p);
                JsonNode type = part.get("type");
                if (type == null || !type.isTextual()) throw ApiException.invalid(p + ".type", "must be a string");
                if (!type.textValue().equals("text")) {
                    throw ApiException.unsupported(p + ".type", "only text parts are supported, got '"
                            + clip(type.textValue()) + "'");
                }
                JsonNode t = part.get("text");
                if (t == null || !t.isTextual()) throw ApiException.invalid(p + ".text", "must be a string");
                sb.append(t.textValue());
            }
            text = sb.toString();
        } else {
            throw ApiException.invalid(where + ".content", "must be a string or a list of text parts");
        }
        if (present(m, "name") && !m.get("name").isTextual()) throw ApiException.invalid(where + ".name", "must be a string");
        return new ChatMessage(role.textValue(), text);
    }

    private static ApiRequest common(JsonNode body, boolean chat, String text, int[] ids, List<ChatMessage> messages) {
        String model = null;
        if (present(body, "model")) {
            if (!body.get("model").isTextual()) throw ApiException.invalid("model", "must be a string");
            model = body.get("model").textValue();
        }
        Integer maxTokens = null;
        for (String name : List.of("max_tokens", "max_completion_tokens")) {
            if (!present(body, name)) continue;
            int v = intField(body, name, 1, Integer.MAX_VALUE);
            if (maxTokens != null && maxTokens != v) {
                throw ApiException.invalid(name, "disagrees with max_tokens; give one of them");
            }
            maxTokens = v;
        }
        double temperature = present(body, "temperature") ? number(body, "temperature", 0, 2) : 1;
        double topP = present(body, "top_p") ? number(body, "top_p", 0, 1) : 1;
        int topK = present(body, "top_k") ? intField(body, "top_k", -1, Integer.MAX_VALUE) : 0;
        double minP = present(body, "min_p") ? number(body, "min_p", 0, 1) : 0;
        long seed;
        if (present(body, "seed")) {
            JsonNode s = body.get("seed");
            if (!s.isIntegralNumber() || !s.canConvertToLong()) throw ApiException.invalid("seed", "must be an integer");
            seed = s.longValue();
        } else {
            seed = ThreadLocalRandom.current().nextLong();
        }
        neutral(body, "n", 1);
        for (String penalty : List.of("presence_penalty", "frequency_penalty")) {
            if (present(body, penalty) && number(body, penalty, -2, 2) != 0) {
                throw ApiException.unsupported(penalty, "is not supported; leave it at 0");
            }
        }
        if (present(body, "logit_bias")) {
            JsonNode n = body.get("logit_bias");
            object(n, "logit_bias");
            if (!n.isEmpty()) throw ApiException.unsupported("logit_bias", "is not supported");
        }
        if (present(body, "user") && !body.get("user").isTextual()) throw ApiException.invalid("user", "must be a string");
        List<String> stop = stops(body);
        boolean ignoreEos = bool(body, "ignore_eos");
        boolean stream = bool(body, "stream");
        boolean includeUsage = false;
        if (present(body, "stream_options")) {
            JsonNode so = body.get("stream_options");
            object(so, "stream_options");
            if (present(so, "include_usage")) {
                if (!so.get("include_usage").isBoolean()) {
                    throw ApiException.invalid("stream_options.include_usage", "must be true or false");
                }
                includeUsage = so.get("include_usage").booleanValue();
            }
        }
        boolean returnIds = bool(body, "return_token_ids");
        SamplingParams sampling;
        try {
            sampling = new SamplingParams(temperature, Math.max(topK, 0), topP, minP, seed);
        } catch (InvalidRequestException e) {
            throw ApiException.invalid(e.parameter(), e.getMessage());
        }
        return new ApiRequest(chat, model, text, ids, messages, maxTokens, sampling, stop, ignoreEos, stream,
                includeUsage, returnIds);
    }

    private static List<String> stops(JsonNode body) {
        if (!present(body, "stop")) return List.of();
        JsonNode n = body.get("stop");
        List<String> out = new ArrayList<>();
        if (n.isTextual()) {
            out.add(n.textValue());
        } else if (n.isArray()) {
            if (n.size() > GenerationOptions.MAX_STOPS) {
                throw ApiException.invalid("stop", "at most " + GenerationOptions.MAX_STOPS + " stop strings, got " + n.size());
            }
            for (JsonNode s : n) {
                if (!s.isTextual()) throw ApiException.invalid("stop", "must be a string or a list of strings");
                out.add(s.textValue());
            }
        } else {
            throw ApiException.invalid("stop", "must be a string or a list of strings");
        }
        for (String s : out) if (s.isEmpty()) throw ApiException.invalid("stop", "a stop string is empty");
        return out;
    }

    private static int[] tokenIds(JsonNode list, String where) {
        if (list.isEmpty()) throw ApiException.invalid(where, "is an empty list of token ids");
        if (list.size() > MAX_ITEMS) throw ApiException.invalid(where, "has more than " + MAX_ITEMS + " token ids");
        int[] ids = new int[list.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = list.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToInt()) {
                throw ApiException.invalid(where, "item " + i + " is not a token id (an integer)");
            }
            ids[i] = id.intValue();
        }
        return ids;
    }

    static boolean present(JsonNode obj, String name) {
        JsonNode n = obj.get(name);
        return n != null && !n.isNull();
    }

    private static void object(JsonNode n, String where) {
        if (n == null || !n.isObject()) throw ApiException.invalid("body".equals(where) ? null : where, where + " must be a JSON object");
    }

    private static boolean bool(JsonNode body, String name) {
        if (!present(body, name)) return false;
        JsonNode n = body.get(name);
        if (!n.isBoolean()) throw ApiException.invalid(name, "must be true or false");
        return n.booleanValue();
    }

    private static int intField(JsonNode body, String name, int min, int max) {
        JsonNode n = body.get(name);
        if (!n.isIntegralNumber()) throw ApiException.invalid(name, "must be an integer");
        if (!n.canConvertToInt() || n.intValue() < min || n.intValue() > max) {
            throw ApiException.invalid(name, "must be in [" + min + ", " + max + "], got " + clip(n.asText()));
        }
        return n.intValue();
    }

    private static double number(JsonNode body, String name, double min, double max) {
        JsonNode n = body.get(name);
        if (!n.isNumber()) throw ApiException.invalid(name, "must be a number");
        double v = n.doubleValue();
        if (!Double.isFinite(v) || v < min || v > max) {
            throw ApiException.invalid(name, "must be a number in [" + min + ", " + max + "], got " + clip(n.asText()));
        }
        return v;
    }

    /** A field this server does not implement: absent, null or its neutral value only. */
    private static void neutral(JsonNode body, String name, Object neutral) {
        if (!present(body, name)) return;
        JsonNode n = body.get(name);
        boolean ok = neutral instanceof Boolean b ? n.isBoolean() && n.booleanValue() == b
                : n.isIntegralNumber() && n.canConvertToInt() && n.intValue() == (Integer) neutral;
        if (!ok) throw ApiException.unsupported(name, "only " + neutral + " is supported, got " + clip(n.toString()));
    }

    /** A client's string, shortened for an error message. */
    static String clip(String s) {
        return s.length() <= 60 ? s : s.substring(0, 60) + "…";
    }
}
