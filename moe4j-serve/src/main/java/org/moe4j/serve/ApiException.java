package org.moe4j.serve;

import org.moe4j.common.Moe4jException;

/**
 * A request the server answers with an error in OpenAI's shape, {@code {"error": {"message", "type", "param",
 * "code"}}}, and an HTTP status. Client mistakes are 4xx; 5xx only for the server's own state (loading, a fault,
 * a timeout).
 */
public final class ApiException extends Moe4jException {
    private final int status;
    private final String type;
    private final String param; // may be null
    private final String code; // may be null

    public ApiException(int status, String type, String param, String code, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: a bad parameter, named as the API spells it. */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, message);
    }

    /** 400: a parameter this server does not support (at a value other than its neutral one). */
    public static ApiException unsupported(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, "unsupported_parameter", message);
    }

    public static ApiException unauthorized() {
        return new ApiException(401, "invalid_request_error", null, "invalid_api_key",
                "missing or incorrect API key; send it as 'Authorization: Bearer KEY'");
    }

    public static ApiException notFound(String what) {
        return new ApiException(404, "invalid_request_error", null, "not_found", what);
    }

    public static ApiException modelNotFound(String requested, String served) {
        return new ApiException(404, "invalid_request_error", "model", "model_not_found",
                "the model '" + requested + "' does not exist; this server serves '" + served + "'");
    }

    public static ApiException methodNotAllowed(String method, String path, String allowed) {
        return new ApiException(405, "invalid_request_error", null, "method_not_allowed",
                method + " is not allowed on " + path + "; use " + allowed);
    }

    public static ApiException tooLarge(long limit) {
        return new ApiException(413, "invalid_request_error", null, "request_too_large",
                "the request body exceeds the limit of " + limit + " bytes");
    }

    public static ApiException unsupportedMediaType(String type) {
        return new ApiException(415, "invalid_request_error", null, "unsupported_media_type",
                "the body must be JSON (Content-Type: application/json), got '" + type + "'");
    }

    public static ApiException overloaded(int capacity) {
        return new ApiException(429, "rate_limit_error", null, "server_overloaded", "the server is at capacity ("
                + capacity + " requests running or queued); retry after a moment");
    }

    public static ApiException loading() {
        return new ApiException(503, "server_error", null, "model_loading", "the model is still loading; retry shortly");
    }

    public static ApiException timeout(java.time.Duration limit) {
        String t = limit.toMillis() % 1000 == 0 ? limit.toSeconds() + " s" : limit.toMillis() + " ms";
        return new ApiException(504, "timeout_error", null, "request_timeout", "the request did not finish within the"
                + " server's timeout of " + t + " (--timeout); ask for fewer tokens or retry later");
    }

    public static ApiException internal(String message) {
        return new ApiException(500, "server_error", null, "internal_error", message);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
