package org.moe4j.serve;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A raw streaming request on its own socket, so that a test can hang up in the middle like a vanished client. */
final class SseSocket implements AutoCloseable {
    private final Socket socket;
    private final BufferedReader in;
    private String status;

    SseSocket(int port, String path, String json) {
        try {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(30_000);
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads until {@code n} SSE data lines have arrived; returns the HTTP status line. */
    String awaitEvents(int n) {
        try {
            int seen = 0;
            String line;
            while (seen < n && (line = in.readLine()) != null) {
                if (status == null) {
                    status = line;
                    if (!status.contains(" 200 ")) return status; // an error answer has no events
                }
                if (line.startsWith("data: ")) seen++;
            }
            return status;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            socket.setSoLinger(true, 0); // hang up hard (RST), as a killed client does
            socket.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
