#include "engine/tokenizer/post_processor.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/tokenizer/json_fields.hpp"

namespace ds::engine::tokenizer {
namespace {

// The ids of special token `name` from the template's "special_tokens" table.
std::vector<std::uint32_t> special_ids(const nlohmann::json& processor, const std::string& name, const JsonPath& at) {
  const auto* table = find_field(processor, "special_tokens");
  const JsonPath entry_at = at.child("special_tokens").child(name);
  if (table == nullptr || !table->is_object() || !table->contains(name)) {
    throw UsageError(format_error(entry_at.where(), "the template uses a special token the table does not define",
                                  "'" + name + "'", "an entry in special_tokens"));
  }
  const auto& entry = (*table)[name];
  const auto* ids = entry.is_object() ? find_field(entry, "ids") : nullptr;
  if (ids == nullptr || !ids->is_array()) throw UsageError(format_error(entry_at.child("ids").where(), "missing", "", "an array of ids"));
  std::vector<std::uint32_t> out;
  for (const auto& id : *ids) {
    const auto value = as_token_id(id);
    if (!value) throw UsageError(format_error(entry_at.child("ids").where(), "bad id", id.dump(), "an integer >= 0"));
    out.push_back(*value);
  }
  return out;
}

void parse_template(const nlohmann::json& value, const JsonPath& at, PostProcessor& out) {
  const auto& single = required_array(value, "single", at);
  bool seen_text = false;
  for (std::size_t i = 0; i < single.size(); ++i) {
    const auto& item = single[i];
    const JsonPath item_at = at.child("single").index(i);
    require_object(item, item_at);
    if (item.contains("Sequence")) {
      seen_text = true;
      continue;
    }
    const auto* special = find_field(item, "SpecialToken");
    if (special == nullptr || !special->is_object()) {
      throw UsageError(format_error(item_at.where(), "unknown template item", item.dump(), "{\"SpecialToken\": ...} or {\"Sequence\": ...}"));
    }
    const auto ids = special_ids(value, required_string(*special, "id", item_at.child("SpecialToken")), at);
    auto& side = seen_text ? out.suffix : out.prefix;
    side.insert(side.end(), ids.begin(), ids.end());
  }
}

// RobertaProcessing / BertProcessing: cls and sep as ["<s>", 0] around the text.
void parse_cls_sep(const nlohmann::json& value, const JsonPath& at, PostProcessor& out) {
  for (const char* name : {"cls", "sep"}) {
    const auto* pair = find_field(value, name);
    const auto id = pair != nullptr && pair->is_array() && pair->size() == 2 ? as_token_id((*pair)[1]) : std::nullopt;
    if (!id) {
      throw UsageError(format_error(at.child(name).where(), pair ? "malformed" : "missing", pair ? pair->dump() : "",
                                    "[\"<token>\", id]"));
    }
    (std::string(name) == "cls" ? out.prefix : out.suffix).push_back(*id);
  }
}

void parse_into(const nlohmann::json& value, const JsonPath& at, PostProcessor& out) {
  if (value.is_null()) return;
  require_object(value, at);
  const std::string type = required_string(value, "type", at);
  if (type == "ByteLevel") return;  // only trims offsets, which ds does not report
  if (type == "TemplateProcessing") return parse_template(value, at, out);
  if (type == "RobertaProcessing" || type == "BertProcessing") return parse_cls_sep(value, at, out);
  if (type == "Sequence") {
    const auto& items = required_array(value, "processors", at);
    for (std::size_t i = 0; i < items.size(); ++i) parse_into(items[i], at.child("processors").index(i), out);
    return;
  }
  throw_unsupported(at.child("type"), "post-processor", type,
                    {"BertProcessing", "ByteLevel", "RobertaProcessing", "Sequence", "TemplateProcessing"});
}

}  // namespace

PostProcessor parse_post_processor(const nlohmann::json& value, const JsonPath& at) {
  PostProcessor out;
  parse_into(value, at, out);
  return out;
}

}  // namespace ds::engine::tokenizer
