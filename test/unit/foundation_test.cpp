#include <gtest/gtest.h>

#include <string>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/path.hpp"
#include "concurrent_edit/sha256.hpp"
#include "test_util.hpp"

using ce::Errc;

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(ce::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(ce::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(ce::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(ce::sha256_hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShot) {
    std::string data;
    for (int i = 0; i < 1000; ++i) data += std::to_string(i * 7919) + "\n";
    for (std::size_t split : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 127u, 500u}) {
        ce::Sha256 h;
        h.update(data.data(), split);
        h.update(data.data() + split, data.size() - split);
        auto d = h.digest();
        static const char hex[] = "0123456789abcdef";
        std::string s;
        for (auto b : d) { s.push_back(hex[b >> 4]); s.push_back(hex[b & 15]); }
        EXPECT_EQ(s, ce::sha256_hex(data)) << "split at " << split;
    }
}

TEST(Sha256, RecognizesHex) {
    EXPECT_TRUE(ce::is_sha256_hex(ce::sha256_hex("x")));
    EXPECT_FALSE(ce::is_sha256_hex(""));
    EXPECT_FALSE(ce::is_sha256_hex(std::string(64, 'A')));
    EXPECT_FALSE(ce::is_sha256_hex(std::string(63, 'a')));
}

TEST(NormalizePath, Spellings) {
    EXPECT_EQ(ce::normalize_path("src/main.ts"), "src/main.ts");
    EXPECT_EQ(ce::normalize_path("src\\main.ts"), "src/main.ts");
    EXPECT_EQ(ce::normalize_path("./src/./main.ts"), "src/main.ts");
    EXPECT_EQ(ce::normalize_path("src/lib/"), "src/lib");
    EXPECT_EQ(ce::normalize_path("/src//lib///x"), "src/lib/x");
    EXPECT_EQ(ce::normalize_path("src/lib/../main.ts"), "src/main.ts");
    EXPECT_EQ(ce::normalize_path("README.md"), "README.md");
    EXPECT_EQ(ce::normalize_path("Src/Main.TS"), "Src/Main.TS");  // case kept
    EXPECT_EQ(ce::normalize_path("a/.hidden/..x"), "a/.hidden/..x");
    EXPECT_EQ(ce::normalize_path("d\u00e9j\u00e0/vu.txt"), "d\u00e9j\u00e0/vu.txt");
}

TEST(NormalizePath, Idempotent) {
    for (const char* p : {"a/b", "./a\\b/", "x/../y/./z", "//q//"}) {
        std::string once = ce::normalize_path(p);
        EXPECT_EQ(ce::normalize_path(once), once);
    }
}

TEST(NormalizePath, Rejects) {
    EXPECT_CE_ERROR(ce::normalize_path(""), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::normalize_path("/"), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::normalize_path("./."), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::normalize_path(".."), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::normalize_path("a/../../b"), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::normalize_path("a\nb"), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::normalize_path(std::string(ce::kMaxPathBytes + 1, 'a')), Errc::limit_exceeded);
    EXPECT_NO_THROW(ce::normalize_path(std::string(ce::kMaxPathBytes, 'a')));
}

namespace {
int hook_calls = 0;
void counting_hook() { ++hook_calls; }
void canceling_hook() { throw ce::Error(Errc::canceled, "canceled by test"); }
}  // namespace

TEST(Interrupts, TickerCallsHookEveryPeriod) {
    auto old = ce::set_interrupt_hook(&counting_hook);
    hook_calls = 0;
    ce::InterruptTicker ticker(100);
    for (int i = 0; i < 1000; ++i) ticker.tick();
    EXPECT_EQ(hook_calls, 10);
    ticker.tick(250);  // bulk work counts as many ticks
    EXPECT_EQ(hook_calls, 11);
    ce::set_interrupt_hook(old);
}

TEST(Interrupts, HookExceptionUnwindsCaller) {
    auto old = ce::set_interrupt_hook(&canceling_hook);
    int destroyed = 0;
    struct Guard { int* n; ~Guard() { ++*n; } };
    try {
        Guard g{&destroyed};
        ce::check_interrupts();
        FAIL() << "hook did not throw";
    } catch (const ce::Error& e) {
        EXPECT_EQ(e.code(), Errc::canceled);
    }
    EXPECT_EQ(destroyed, 1);
    ce::set_interrupt_hook(old);
}

TEST(Interrupts, NoHookIsNoop) {
    auto old = ce::set_interrupt_hook(nullptr);
    EXPECT_NO_THROW(ce::check_interrupts());
    ce::set_interrupt_hook(old);
}

TEST(Errors, KindsHaveNames) {
    EXPECT_STREQ(ce::errc_name(Errc::invalid_parameter), "invalid_parameter");
    EXPECT_STREQ(ce::errc_name(Errc::limit_exceeded), "limit_exceeded");
    ce::Error e(Errc::invalid_json, "m", "d", "h");
    EXPECT_STREQ(e.what(), "m");
    EXPECT_EQ(e.detail(), "d");
    EXPECT_EQ(e.hint(), "h");
}
