// Reference ids for tests/tokenizer/reference_test.cpp from Hugging Face's own JavaScript
// tokenizer (@huggingface/tokenizers).
//   node hf_reference.mjs <node_modules> <dir with tokenizer.json + tokenizer_config.json> <texts.json>
// texts.json is a JSON array of strings; prints one JSON array with, per text,
// {"ids": [...], "ids_no_special": [...], "decoded": "..."} (decoded: of ids_no_special, no clean-up).
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [modules, dir, textsFile] = process.argv.slice(2);
const url = pathToFileURL(path.join(modules, "@huggingface/tokenizers/dist/tokenizers.mjs")).href;
const { Tokenizer } = await import(url);
const json = JSON.parse(readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
const config = JSON.parse(readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
const tokenizer = new Tokenizer(json, config);
const results = JSON.parse(readFileSync(textsFile, "utf8")).map((text) => {
  const ids = tokenizer.encode(text).ids;
  const ids_no_special = tokenizer.encode(text, { add_special_tokens: false }).ids;
  const decoded =
    ids_no_special.length === 0 ? "" : tokenizer.decode(ids_no_special, { clean_up_tokenization_spaces: false });
  return { ids, ids_no_special, decoded };
});
process.stdout.write(JSON.stringify(results));
