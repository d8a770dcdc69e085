#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "concurrent_edit/delta.hpp"
#include "concurrent_edit/error.hpp"

namespace {

std::string lines_text(int n, int seed) {
    std::mt19937 rng(seed);
    std::string s;
    for (int i = 0; i < n; ++i) s += "line " + std::to_string(i) + " value " + std::to_string(rng() % 1000) + "\n";
    return s;
}

void round_trip(const std::string& base, const std::string& target) {
    std::string d = ce::delta::encode(base, target);
    EXPECT_EQ(ce::delta::apply(base, d), target);
    auto h = ce::delta::header(d);
    EXPECT_EQ(h.base_size, base.size());
    EXPECT_EQ(h.target_size, target.size());
}

ce::Errc apply_error(const std::string& base, const std::string& d) {
    try {
        ce::delta::apply(base, d);
    } catch (const ce::Error& e) {
        return e.code();
    }
    return ce::Errc::internal;
}

}  // namespace

TEST(Delta, RoundTrips) {
    round_trip("", "");
    round_trip("", "new text\n");
    round_trip("old text\n", "");
    round_trip("a\nb\nc\n", "a\nb\nc\n");
    round_trip("a\nb\nc\n", "a\nB\nc\n");
    round_trip("a\nb\nc", "a\nb\nc\n");          // newline added at the end
    round_trip("a\nb\nc\n", "a\nb\nc");          // and removed
    round_trip("x", "y");
    round_trip("same prefix, other end", "same prefix, different end");
    round_trip("a\r\nb\r\n", "a\nb\r\n");
    round_trip(std::string("nul\0byte\n", 9), std::string("nul\0b\0te\n", 9));
}

TEST(Delta, SmallEditOfALargeTextIsSmall) {
    std::string base = lines_text(2000, 1);  // ~40 kB
    std::string target = base;
    std::size_t at = target.find("line 1000 ");
    target.replace(at, target.find('\n', at) - at, "a changed line");
    std::string d = ce::delta::encode(base, target);
    EXPECT_LT(d.size(), 64u);
    EXPECT_EQ(ce::delta::apply(base, d), target);
}

TEST(Delta, RandomEditsRoundTrip) {
    std::mt19937 rng(7);
    std::string text = lines_text(300, 2);
    for (int step = 0; step < 200; ++step) {
        std::string next = text;
        int edits = 1 + rng() % 3;
        for (int e = 0; e < edits; ++e) {
            std::size_t pos = next.empty() ? 0 : rng() % next.size();
            switch (rng() % 3) {
                case 0: next.insert(pos, "inserted " + std::to_string(rng()) + "\n"); break;
                case 1: next.erase(pos, std::min<std::size_t>(rng() % 80, next.size() - pos)); break;
                default: if (!next.empty()) next[pos] = static_cast<char>('a' + rng() % 26); break;
            }
        }
        round_trip(text, next);
        round_trip(next, text);
        text = next;
    }
}

TEST(Delta, ChainRebuildsEveryVersion) {
    std::vector<std::string> versions{lines_text(500, 3)};
    for (int i = 1; i < 50; ++i) {
        std::string v = versions.back();
        v.insert(v.size() / (i + 1), "version " + std::to_string(i) + "\n");
        versions.push_back(v);
    }
    std::string text = versions[0], next;
    for (std::size_t i = 1; i < versions.size(); ++i) {
        ce::delta::apply_into(text, ce::delta::encode(versions[i - 1], versions[i]), next);
        ASSERT_EQ(next, versions[i]);
        text.swap(next);
    }
}

TEST(Delta, MalformedDeltasAreRefused) {
    std::string base = "abc\n";
    std::string good = ce::delta::encode(base, "abd\n");
    EXPECT_EQ(apply_error(base, ""), ce::Errc::invalid_binary);
    EXPECT_EQ(apply_error(base, "X\x01\x04\x04"), ce::Errc::invalid_binary);           // magic
    EXPECT_EQ(apply_error(base, std::string("D\x02\x04\x04", 4)), ce::Errc::invalid_binary);  // format
    EXPECT_EQ(apply_error("abcd\n", good), ce::Errc::invalid_binary);                  // other base size
    EXPECT_EQ(apply_error(base, good.substr(0, good.size() - 1)), ce::Errc::invalid_binary);  // truncated
    EXPECT_EQ(apply_error(base, good + "\x03x"), ce::Errc::invalid_binary);           // past target size
    // A copy outside the base: base 4 bytes, target 4 bytes, copy 4 bytes at offset 1.
    EXPECT_EQ(apply_error(base, std::string("D\x01\x04\x04\x08\x01", 6)), ce::Errc::invalid_binary);
    // An empty instruction.
    EXPECT_EQ(apply_error(base, std::string("D\x01\x04\x04\x00\x00", 6)), ce::Errc::invalid_binary);
    // Too short for its target.
    EXPECT_EQ(apply_error(base, std::string("D\x01\x04\x04\x03x", 6)), ce::Errc::invalid_binary);
    // An integer that never ends.
    EXPECT_EQ(apply_error(base, std::string("D\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 13)),
              ce::Errc::invalid_binary);
}

TEST(Delta, PreferredBaseIsASkipLayout) {
    EXPECT_EQ(ce::delta::preferred_base(1), 0);
    EXPECT_EQ(ce::delta::preferred_base(2), 1);
    EXPECT_EQ(ce::delta::preferred_base(3), 2);
    EXPECT_EQ(ce::delta::preferred_base(17), 1);    // i = 0x10 -> 0x00
    EXPECT_EQ(ce::delta::preferred_base(18), 17);   // 0x11 -> 0x10
    EXPECT_EQ(ce::delta::preferred_base(33), 17);   // 0x20 -> 0x10
    EXPECT_EQ(ce::delta::preferred_base(257), 1);   // 0x100 -> 0
    EXPECT_EQ(ce::delta::preferred_base(513), 257);
    // Chains are short: rebuilding any of the first 1,000 versions takes at most 32
    // steps, and every version's base is older.
    int longest = 0;
    for (std::int64_t v = 1; v <= 1000; ++v) {
        int depth = 0;
        for (std::int64_t b = v; ce::delta::preferred_base(b) != 0; b = ce::delta::preferred_base(b)) {
            EXPECT_LT(ce::delta::preferred_base(b), b);
            ++depth;
        }
        longest = std::max(longest, depth);
    }
    EXPECT_EQ(longest, 32);  // version 768: 767 = 0x2ff, 2 + 15 + 15
}
