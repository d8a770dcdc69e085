// Line interning (include/concurrent_edit/lines.hpp): intern_like gives exactly the
// ids intern gives, whatever the text's relation to the reference.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "concurrent_edit/lines.hpp"

namespace {

// Two interners fed the same base, then `side` by intern and by intern_like.
void expect_same_ids(const std::string& base_text, const std::string& side_text) {
    auto base = ce::split_lines(base_text);
    auto side = ce::split_lines(side_text);
    ce::LineInterner plain(base.size() + side.size()), like(base.size() + side.size());
    auto base_ids = plain.intern(base);
    ASSERT_EQ(like.intern(base), base_ids);
    auto expected = plain.intern(side);
    auto got = like.intern_like(side, base, base_ids);
    EXPECT_EQ(got, expected);
    EXPECT_EQ(like.size(), plain.size());
}

std::string lines_of(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& l : v) out += l + "\n";
    return out;
}

}  // namespace

TEST(LineInterner, InternLikeEdgeCases) {
    expect_same_ids("", "");
    expect_same_ids("", "a\nb\n");
    expect_same_ids("a\nb\n", "");
    expect_same_ids("a\nb\nc\n", "a\nb\nc\n");
    expect_same_ids("a\nb\nc\n", "c\nb\na\n");           // reversed
    expect_same_ids("a\nb\nc\n", "x\na\nb\nc\n");        // inserted first
    expect_same_ids("a\nb\nc\n", "a\nc\n");              // deleted
    expect_same_ids("a\nb\nc\n", "a\nX\nc\n");           // replaced
    expect_same_ids("}\n}\n}\na\n}\n", "}\na\n}\n}\n");  // repeated lines
    expect_same_ids("a\nb", "a\nb\n");                   // last line without newline
    expect_same_ids("a\nb\n", "a\nb");
}

TEST(LineInterner, InternLikeRandomEdits) {
    std::mt19937_64 rng(20261202);
    const std::vector<std::string> pool = {"}", "", "return x;", "{", "int a;", "// c"};
    for (int round = 0; round < 300; ++round) {
        std::vector<std::string> base;
        const int n = static_cast<int>(rng() % 200);
        for (int i = 0; i < n; ++i)
            base.push_back(rng() % 3 == 0 ? pool[rng() % pool.size()] : "line " + std::to_string(rng() % 1000));
        std::vector<std::string> side = base;
        const int edits = static_cast<int>(rng() % 20);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = side.empty() ? 0 : rng() % (side.size() + 1);
            switch (rng() % 4) {
                case 0: side.insert(side.begin() + at, "new " + std::to_string(rng() % 50)); break;
                case 1: if (at < side.size()) side.erase(side.begin() + at); break;
                case 2: if (at < side.size()) side[at] = pool[rng() % pool.size()]; break;
                default:  // a block moved
                    if (side.size() > 4) {
                        std::size_t from = rng() % (side.size() - 3);
                        std::vector<std::string> block(side.begin() + from, side.begin() + from + 3);
                        side.erase(side.begin() + from, side.begin() + from + 3);
                        std::size_t to = rng() % (side.size() + 1);
                        side.insert(side.begin() + to, block.begin(), block.end());
                    }
            }
        }
        expect_same_ids(lines_of(base), lines_of(side));
    }
}

// split_lines reads newlines 64 bytes at a time: every length around the block
// size, newlines at every position, with and without a final newline, against a
// byte-by-byte reference.
static std::vector<std::string_view> split_reference(std::string_view t) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i < t.size(); ++i)
        if (t[i] == '\n') {
            out.push_back(t.substr(start, i + 1 - start));
            start = i + 1;
        }
    if (start < t.size()) out.push_back(t.substr(start));
    return out;
}

TEST(SplitLines, AgainstByteByByte) {
    std::mt19937 rng(7);
    for (std::size_t len = 0; len <= 200; ++len) {
        for (int density : {0, 1, 8, 50, 100}) {  // percent of bytes that are '\n'
            std::string t(len, 'x');
            for (auto& c : t)
                if (static_cast<int>(rng() % 100) < density) c = '\n';
            // The view starts at an odd address, so no block load is aligned.
            std::string padded = "#" + t;
            std::string_view v(padded.data() + 1, t.size());
            EXPECT_EQ(ce::split_lines(v), split_reference(v)) << "len " << len << " density " << density;
        }
    }
    EXPECT_TRUE(ce::split_lines("").empty());
    EXPECT_EQ(ce::split_lines("a"), (std::vector<std::string_view>{"a"}));
    EXPECT_EQ(ce::split_lines("\n\n"), (std::vector<std::string_view>{"\n", "\n"}));
    std::string nul("a\0b\nc\0", 6);  // NUL bytes are ordinary bytes
    EXPECT_EQ(ce::split_lines(nul), (std::vector<std::string_view>{std::string_view(nul.data(), 4), std::string_view(nul.data() + 4, 2)}));
}

// Lines that differ only in their last bytes (the hash reads a 1-7 byte tail in
// overlapping loads) get different ids; equal lines the same id.
TEST(LineInterner, ShortTailsAreDistinct) {
    std::vector<std::string> texts;
    for (std::size_t len = 0; len <= 20; ++len)
        for (char c : {'a', 'b'}) {
            std::string s(len, 'x');
            if (len > 0) s.back() = c;
            if (len > 1) s[len / 2] = c;
            texts.push_back(s);
            if (len > 2) { s[0] = c; texts.push_back(s); }
        }
    std::vector<std::string_view> views(texts.begin(), texts.end());
    ce::LineInterner in(views.size());
    auto ids = in.intern(views);
    for (std::size_t i = 0; i < views.size(); ++i)
        for (std::size_t j = 0; j < views.size(); ++j)
            EXPECT_EQ(ids[i] == ids[j], views[i] == views[j]) << '"' << views[i] << "\" vs \"" << views[j] << '"';
}
