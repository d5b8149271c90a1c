#pragma once
// The tokenizers live in the torch-free library engine/tokenizer/ (ds_tokenizer); `ds data
// prepare` keeps using them under these names.
#include "engine/tokenizer/tokenizer.hpp"

namespace ds::engine::data {

using Tokenizer = tokenizer::Tokenizer;
using ByteTokenizer = tokenizer::ByteTokenizer;
using EncodeOptions = tokenizer::EncodeOptions;
using tokenizer::load_tokenizer;
using tokenizer::make_tokenizer;

}  // namespace ds::engine::data
