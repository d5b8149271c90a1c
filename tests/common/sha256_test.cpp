#include "common/sha256.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace ds {
namespace {

// Bytes 0..n-1 of a fixed pattern that covers every byte value; the Python check builds the same.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + 3) % 256);
  return s;
}

}  // namespace

// FIPS 180-4 example vectors (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf"), rechecked with
// Python's hashlib.
TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// 55 bytes: padding and length fit in one block; 56..63: they spill into a second; 64: a whole
// data block, then a padding block. Values from hashlib.sha256(b"a" * n).hexdigest().
TEST(Sha256, PaddingBoundaries) {
  EXPECT_EQ(sha256_hex(std::string(55, 'a')), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(sha256_hex(std::string(56, 'a')), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(sha256_hex(std::string(63, 'a')), "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
  EXPECT_EQ(sha256_hex(std::string(64, 'a')), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256, RawDigestMatchesHex) {
  const auto digest = sha256("abc");
  EXPECT_EQ(digest[0], 0xba);
  EXPECT_EQ(digest[31], 0xad);
  // UTF-8 is hashed as its bytes: hashlib.sha256("héllo ✓".encode()).hexdigest()
  EXPECT_EQ(sha256_hex("h\xc3\xa9llo \xe2\x9c\x93"), "5657cdef8a85a584e0e961e6f8247cf5d3f8ed21496ed6fdbcfd43a761e94245");
}

// Every length 0..200 (all padding cases, one to four blocks) against Python's hashlib.
TEST(Sha256, AgreesWithPythonHashlibForEveryLengthUpTo200) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 not installed";
  FILE* pipe = ::popen(
      "/usr/bin/python3 -c 'import hashlib\n"
      "for n in range(201): print(hashlib.sha256(bytes((i * 7 + 3) % 256 for i in range(n))).hexdigest())'",
      "r");
  ASSERT_NE(pipe, nullptr);
  char line[128];
  std::size_t n = 0;
  while (std::fgets(line, sizeof line, pipe)) {
    EXPECT_EQ(sha256_hex(pattern(n)), std::string(line, 64)) << "length " << n;
    ++n;
  }
  EXPECT_EQ(::pclose(pipe), 0);
  EXPECT_EQ(n, 201u);
}

}  // namespace ds
