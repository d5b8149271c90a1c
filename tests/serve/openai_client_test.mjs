// The official OpenAI Node client (npm `openai` v4, unchanged) against a ds server: models,
// completions, chat, streaming with usage, and errors as the client's typed exceptions.
//   node openai_client_test.mjs <node_modules> <base URL, e.g. http://127.0.0.1:8000/v1> <api key> <model>
// Prints one "ok <check>" line per passing check; exits 1 with the failing check on stderr.
// tests/serve/openai_client_test.cpp runs it against a fake generator; the same script works
// against a real `ds serve`, whose text then differs, so text checks only apply with "fake-model".
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, baseURL, apiKey, model] = process.argv.slice(2);
const { default: OpenAI } = await import(pathToFileURL(path.join(modules, "openai/index.mjs")).href);
const fake = model === "fake-model";

function check(name, condition, detail) {
  if (!condition) {
    console.error(`FAILED ${name}: ${JSON.stringify(detail)}`);
    process.exit(1);
  }
  console.log(`ok ${name}`);
}

async function expectError(name, promise, status, param) {
  try {
    await promise;
    check(name, false, "no error thrown");
  } catch (e) {
    check(name, e instanceof OpenAI.APIError && e.status === status && (param === undefined || e.param === param),
          { status: e.status, param: e.param, message: e.message });
  }
}

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30000 });

const models = await client.models.list();
check("models.list", models.data.length === 1 && models.data[0].id === model, models.data);

const completion = await client.completions.create({ model, prompt: "Hello", max_tokens: 3, temperature: 0 });
check("completions.create", completion.object === "text_completion" && completion.choices.length === 1 &&
      completion.usage.completion_tokens <= 3 && (!fake || completion.choices[0].text === "Hel"), completion);

const chat = await client.chat.completions.create({
  model, messages: [{ role: "user", content: "Hi" }], max_tokens: 20, temperature: 0,
});
check("chat.completions.create", chat.object === "chat.completion" && chat.choices[0].message.role === "assistant" &&
      (!fake || chat.choices[0].message.content === "user: Hi\n"), chat);

const stream = await client.chat.completions.create({
  model, messages: [{ role: "user", content: "Hi" }], max_tokens: 20, temperature: 0, stream: true,
  stream_options: { include_usage: true },
});
let content = "";
let finish = null;
let usage = null;
for await (const chunk of stream) {
  if (chunk.choices.length > 0) {
    content += chunk.choices[0].delta.content ?? "";
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  if (chunk.usage) usage = chunk.usage;
}
check("chat stream", (finish === "stop" || finish === "length") && usage !== null &&
      usage.total_tokens === usage.prompt_tokens + usage.completion_tokens && (!fake || content === "user: Hi\n"),
      { content, finish, usage });

const textStream = await client.completions.create({ model, prompt: "abc", max_tokens: 2, stream: true });
let text = "";
for await (const chunk of textStream) text += chunk.choices[0]?.text ?? "";
check("completions stream", !fake || text === "ab", text);

// The helper that assembles a whole message from a stream (what many applications use).
const runner = client.beta.chat.completions.stream({ model, messages: [{ role: "user", content: "Yo" }], max_tokens: 20 });
const final = await runner.finalChatCompletion();
check("beta.chat.completions.stream", !fake || final.choices[0].message.content === "user: Yo\n", final);

await expectError("400 names the field", client.chat.completions.create({
  model, messages: [{ role: "user", content: "Hi" }], temperature: 7,
}), 400, "temperature");
await expectError("404 unknown model", client.completions.create({ model: "no-such-model", prompt: "x" }), 404, "model");
const wrongKey = new OpenAI({ baseURL, apiKey: "wrong-" + apiKey, maxRetries: 0 });
await expectError("401 wrong key", wrongKey.models.list(), 401);
