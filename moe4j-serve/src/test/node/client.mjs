// Usage: node client.mjs BASE_URL MODEL — a chat completion, a streaming chat completion and a completion with the
// official openai package; prints one JSON line with what came back, exits non-zero on any error.
import OpenAI from "openai";

const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "test-key", maxRetries: 0, timeout: 30_000 });

const chat = await client.chat.completions.create({
  model,
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }],
  max_tokens: 8,
  temperature: 0,
});

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }],
  max_tokens: 8,
  temperature: 0,
  stream: true,
  stream_options: { include_usage: true },
});
let streamed = "";
let streamFinish = null;
let streamUsage = null;
for await (const chunk of stream) {
  if (chunk.choices.length > 0) {
    streamed += chunk.choices[0].delta?.content ?? "";
    streamFinish = chunk.choices[0].finish_reason ?? streamFinish;
  }
  if (chunk.usage) streamUsage = chunk.usage;
}

const completion = await client.completions.create({ model, prompt: "Once upon", max_tokens: 5, temperature: 0 });

console.log(JSON.stringify({
  chat: chat.choices[0].message.content,
  chatFinish: chat.choices[0].finish_reason,
  chatUsage: chat.usage,
  streamed,
  streamFinish,
  streamUsage,
  completion: completion.choices[0].text,
  completionUsage: completion.usage,
}));
