// The pglz decoder against PostgreSQL's own (libpgcommon, linked as the oracle):
// every stream PostgreSQL's compressor makes decodes to its input, and on valid,
// truncated, altered and mis-sized streams both decoders agree on acceptance and,
// when they accept, on every byte.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "../fuzz/pglz_oracle.hpp"
#include "concurrent_edit/pglz.hpp"

namespace {

std::string compress(const std::string& s) {
    std::string out(s.size() + 4 + 16, '\0');
    std::int32_t n = pglz_compress(s.data(), static_cast<std::int32_t>(s.size()), out.data(), PGLZ_strategy_always);
    if (n < 0) return {};
    out.resize(static_cast<std::size_t>(n));
    return out;
}

struct Decoded {
    bool ok;
    std::string text;
};

Decoded ours(const std::string& c, std::size_t raw) {
    std::string out(raw, '\0');
    bool ok = ce::pglz::decompress(reinterpret_cast<const unsigned char*>(c.data()), c.size(), out.data(), raw);
    return {ok, ok ? out : std::string()};
}

Decoded theirs(const std::string& c, std::size_t raw) {
    // PostgreSQL's decoder may read two bytes past a tag cut short: pad the copy.
    std::string in = c + std::string(8, '\0');
    std::string out(raw + 8, '\0');
    std::int32_t n = pglz_decompress(in.data(), static_cast<std::int32_t>(c.size()), out.data(),
                                     static_cast<std::int32_t>(raw), true);
    if (n < 0) return {false, {}};
    out.resize(static_cast<std::size_t>(n));
    return {true, out};
}

void expect_same(const std::string& c, std::size_t raw, const std::string& what) {
    Decoded a = ours(c, raw), b = theirs(c, raw);
    ASSERT_EQ(a.ok, b.ok) << what;
    if (a.ok) ASSERT_EQ(a.text, b.text) << what;
}

std::string code_text(int lines, std::mt19937& rng) {
    std::string s;
    for (int i = 0; i < lines; ++i) {
        switch (rng() % 5) {
            case 0: s += "}\n"; break;
            case 1: s += "\n"; break;
            default: s += std::string(4 * (rng() % 4), ' ') + "call_" + std::to_string(rng() % 500) + "(x, y);\n";
        }
    }
    return s;
}

std::vector<std::string> samples() {
    std::mt19937 rng(42);
    std::vector<std::string> v;
    v.push_back(code_text(10000, rng));  // long, many references, long offsets
    v.push_back(std::string(100000, ' '));                // one run: offset 1, longest references
    std::string random_bytes;
    for (int i = 0; i < 50000; ++i) random_bytes.push_back(static_cast<char>(rng()));
    v.push_back(random_bytes);  // nearly all literals
    std::string mixed;
    for (int i = 0; i < 3000; ++i) {
        mixed += std::string(rng() % 20, static_cast<char>('a' + rng() % 3));  // short runs: offsets 1-15
        mixed += "line " + std::to_string(i % 97) + ' ';
    }
    v.push_back(mixed);
    for (std::size_t n : {3, 7, 16, 17, 40, 300, 2100, 4100})  // near the fast loop's bounds
        v.push_back(code_text(static_cast<int>(n), rng).substr(0, n));
    // A short pattern repeated: references longer than their offset, copied in
    // doubling blocks; in the careful loop alone (under 2,200 bytes) and in both.
    for (std::size_t period : {2, 3, 5, 9, 13, 17, 51, 100, 255, 300})
        for (std::size_t n : {40, 700, 2040, 5000}) {
            std::string unit = code_text(static_cast<int>(period), rng).substr(0, period);
            std::string s;
            while (s.size() < n) s += unit;
            v.push_back(s.substr(0, n));
        }
    return v;
}

TEST(Pglz, RoundTripsWhatPostgresCompresses) {
    for (const std::string& s : samples()) {
        std::string c = compress(s);
        if (c.empty()) continue;  // incompressible: PostgreSQL stores it uncompressed
        Decoded d = ours(c, s.size());
        ASSERT_TRUE(d.ok) << s.size();
        ASSERT_EQ(d.text, s) << s.size();
    }
}

TEST(Pglz, EveryLengthUpTo600) {
    std::mt19937 rng(7);
    std::string text = code_text(200, rng);
    for (std::size_t n = 0; n <= 600; ++n) {
        std::string s = text.substr(0, n);
        std::string c = compress(s);
        if (c.empty()) continue;
        Decoded d = ours(c, s.size());
        ASSERT_TRUE(d.ok && d.text == s) << n;
    }
}

TEST(Pglz, WrongSizeIsRefusedLikePostgres) {
    for (const std::string& s : samples()) {
        std::string c = compress(s);
        if (c.empty()) continue;
        expect_same(c, s.size() - 1, "raw - 1");
        expect_same(c, s.size() + 1, "raw + 1");
        EXPECT_FALSE(ours(c, s.size() + 1).ok);
    }
}

TEST(Pglz, TruncatedStreamsAgreeWithPostgres) {
    std::mt19937 rng(3);
    std::string s = code_text(300, rng);
    std::string c = compress(s);
    ASSERT_FALSE(c.empty());
    for (std::size_t n = 0; n < c.size(); ++n) {
        std::string cut = c.substr(0, n);
        expect_same(cut, s.size(), "cut at " + std::to_string(n));
        EXPECT_FALSE(ours(cut, s.size()).ok) << n;
    }
}

TEST(Pglz, AlteredStreamsAgreeWithPostgres) {
    std::mt19937 rng(11);
    for (const std::string& s : samples()) {
        std::string c = compress(s);
        if (c.empty()) continue;
        for (int k = 0; k < 300; ++k) {
            std::string bad = c;
            std::size_t at = rng() % bad.size();
            bad[at] = static_cast<char>(bad[at] ^ (1 + rng() % 255));
            expect_same(bad, s.size(), "byte " + std::to_string(at));
        }
    }
}

TEST(Pglz, ReferenceBeforeTheStartIsRefused) {
    // A control byte with its first bit set: the first item refers back 1 byte
    // into an empty output.
    std::string c = {'\x01', '\x00', '\x01'};
    EXPECT_FALSE(ours(c, 3).ok);
    expect_same(c, 3, "offset 1 at the start");
    // Offset 0 is refused even with output behind it.
    std::string zero = {'\x02', 'a', '\x00', '\x00'};
    EXPECT_FALSE(ours(zero, 4).ok);
    expect_same(zero, 4, "offset 0");
}

}  // namespace
