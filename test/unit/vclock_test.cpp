#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/vclock.hpp"
#include "test_util.hpp"

using ce::Errc;
using ce::Relation;
using ce::VClock;
using ce::VClockView;

namespace {

VClock vc(const char* text) { return VClock::parse(text); }
std::string canon(const char* text) { return VClock::parse(text).to_text(); }

// Random clocks over a small node pool, with small counters, so that equal,
// ordered and concurrent pairs all occur often. Fixed seed: reproducible.
class RandomClocks {
public:
    explicit RandomClocks(unsigned seed = 20240606) : rng_(seed) {}
    VClock next() {
        static const char* const pool[] = {"a", "b", "c", "node-1", "node-2", "\xc3\xa9t\xc3\xa9", "Z", "a b"};
        VClock c;
        for (const char* n : pool)
            if (rng_() % 2) c.set(n, rng_() % 4);
        return c;
    }
    // Half the time an independent clock, otherwise `a` with 0 to 2 counters changed.
    VClock partner(const VClock& a) {
        if (rng_() % 2) return next();
        VClock b = a;
        static const char* const some[] = {"a", "b", "node-1", "Z"};
        for (unsigned k = rng_() % 3; k > 0; --k) b.set(some[rng_() % 4], rng_() % 4);
        return b;
    }
    std::mt19937_64& rng() { return rng_; }

private:
    std::mt19937_64 rng_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Text form

TEST(VClockText, CanonicalOutput) {
    EXPECT_EQ(canon("{}"), "{}");
    EXPECT_EQ(canon(" { } "), "{}");
    EXPECT_EQ(canon(R"({"node-b": 1, "node-a": 3})"), R"({"node-a": 3, "node-b": 1})");
    EXPECT_EQ(canon("\t{\n\"a\"\r:\n2 ,\"b\":1}\n"), R"({"a": 2, "b": 1})");
    // Zero counters are accepted and dropped.
    EXPECT_EQ(canon(R"({"a": 0, "b": 5, "c": 0})"), R"({"b": 5})");
    EXPECT_EQ(canon(R"({"a": 0})"), "{}");
    EXPECT_EQ(canon(R"({"a": 9223372036854775807})"), R"({"a": 9223372036854775807})");
}

TEST(VClockText, BytewiseNodeOrder) {
    // Bytewise: uppercase before lowercase, multi-byte UTF-8 after ASCII, prefixes first.
    EXPECT_EQ(canon(R"({"b": 1, "a": 1, "B": 1, "ab": 1, "\u00e9": 1, "z": 1})"),
              "{\"B\": 1, \"a\": 1, \"ab\": 1, \"b\": 1, \"z\": 1, \"\xc3\xa9\": 1}");
}

TEST(VClockText, EscapesAreDecodedAndPrintedCanonically) {
    EXPECT_EQ(canon(R"({"a\"b": 1})"), R"({"a\"b": 1})");
    EXPECT_EQ(canon(R"({"a\\b": 1})"), R"({"a\\b": 1})");
    EXPECT_EQ(canon(R"({"a\/b": 1})"), R"({"a/b": 1})");
    EXPECT_EQ(canon(R"({"\u0061": 1})"), R"({"a": 1})");
    EXPECT_EQ(canon(R"({"caf\u00E9": 1})"), "{\"caf\xc3\xa9\": 1}");
    EXPECT_EQ(canon(R"({"\n\t\b\f\r": 1})"), R"({"\n\t\b\f\r": 1})");
    EXPECT_EQ(canon(R"({"\u0001\u001f": 1})"), R"({"\u0001\u001f": 1})");
    EXPECT_EQ(canon(R"({"\ud83d\ude00": 1})"), "{\"\xf0\x9f\x98\x80\": 1}");  // surrogate pair
    EXPECT_EQ(canon("{\"\xf0\x9f\x98\x80\": 1}"), "{\"\xf0\x9f\x98\x80\": 1}");
    EXPECT_EQ(vc(R"({"\u0061": 1})"), vc(R"({"a": 1})"));
}

TEST(VClockText, SyntaxErrors) {
    for (const char* bad : {"", " ", "[]", "1", "\"a\"", "null", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}",
                            "{\"a\":1,}", "{,}", "{\"a\":1 \"b\":2}", "{\"a\":1}x", "{\"a\":1} {}", "{a:1}",
                            "{'a':1}", "{\"a\":true}", "{\"a\":null}", "{\"a\":\"1\"}", "{\"a\":[1]}",
                            "{\"a\":{}}", "{\"a\":1.0}", "{\"a\":1.5}", "{\"a\":1e3}", "{\"a\":1E3}", "{\"a\":01}",
                            "{\"a\":00}", "{\"a\":+1}", "{\"a\":-}", "{\"a\":0x1}", "{\"\":1}", "{\"a",
                            "{\"a\\x\":1}", "{\"a\\u12\":1}", "{\"a\\u12g4\":1}", "{\"\\ud800\":1}",
                            "{\"\\udc00\":1}", "{\"\\ud800\\u0041\":1}", "{\"\\u0000\":1}", "{\"a\nb\":1}",
                            "{\"\xff\":1}", "{\"\xc3\":1}", "{\"\xed\xa0\x80\":1}",
                            "\xef\xbb\xbf{}"}) {
        SCOPED_TRACE(std::string("input: ") + bad);
        EXPECT_CE_ERROR(VClock::parse(bad), Errc::invalid_text);
    }
    // NUL bytes inside the text (std::string_view keeps them).
    EXPECT_CE_ERROR(VClock::parse(std::string_view("{\"a\0\":1}", 8)), Errc::invalid_text);
    EXPECT_CE_ERROR(VClock::parse(std::string_view("{\"a\":1}\0", 8)), Errc::invalid_text);
}

TEST(VClockText, ErrorMessagesNameTheProblem) {
    try {
        VClock::parse(R"({"node-a": 1.5})");
        FAIL();
    } catch (const ce::Error& e) {
        EXPECT_STREQ(e.what(), R"(invalid input syntax for type vclock: "{"node-a": 1.5}")");
        EXPECT_EQ(e.detail(), R"({"reason": "The counter of node \"node-a\" is not an integer (no fractions or exponents)."})");
    }
    try {
        VClock::parse(std::string(200, ' ') + "x");
        FAIL();
    } catch (const ce::Error& e) {
        EXPECT_EQ(std::string(e.what()), "invalid input syntax for type vclock: \"" + std::string(64, ' ') + "...\"");
        EXPECT_EQ(e.detail(), R"({"reason": "Expected \"{\" at offset 200."})");
    }
}

TEST(VClockText, RangeErrors) {
    EXPECT_CE_ERROR(VClock::parse(R"({"a": -1})"), Errc::out_of_range);
    EXPECT_CE_ERROR(VClock::parse(R"({"a": -0})"), Errc::out_of_range);
    EXPECT_CE_ERROR(VClock::parse(R"({"a": 9223372036854775808})"), Errc::out_of_range);
    EXPECT_CE_ERROR(VClock::parse(R"({"a": 18446744073709551616})"), Errc::out_of_range);
    EXPECT_CE_ERROR(VClock::parse(R"({"a": 99999999999999999999999999999})"), Errc::out_of_range);
    // A fraction is a syntax error even when the number is also negative or huge.
    EXPECT_CE_ERROR(VClock::parse(R"({"a": -1.5})"), Errc::invalid_text);
    EXPECT_CE_ERROR(VClock::parse(R"({"a": 99999999999999999999e1})"), Errc::invalid_text);
}

TEST(VClockText, DuplicateNodes) {
    EXPECT_CE_ERROR(VClock::parse(R"({"a": 1, "a": 2})"), Errc::duplicate_key);
    EXPECT_CE_ERROR(VClock::parse(R"({"a": 1, "b": 1, "a": 1})"), Errc::duplicate_key);
    EXPECT_CE_ERROR(VClock::parse(R"({"a": 0, "\u0061": 0})"), Errc::duplicate_key);  // after unescaping, zeros too
    try {
        VClock::parse(R"({"x": 1, "y": 2, "x": 3})");
        FAIL();
    } catch (const ce::Error& e) {
        EXPECT_STREQ(e.what(), R"(duplicate node "x" in vclock)");
    }
}

TEST(VClockText, Limits) {
    std::string n256(256, 'n');
    EXPECT_EQ(VClock::parse("{\"" + n256 + "\": 1}").get(n256), 1u);
    EXPECT_CE_ERROR(VClock::parse("{\"" + n256 + "n\": 1}"), Errc::limit_exceeded);
    // The limit counts UTF-8 bytes after unescaping: 128 x U+00E9 = 256 bytes.
    std::string e128;
    for (int i = 0; i < 128; ++i) e128 += "\\u00e9";
    EXPECT_EQ(VClock::parse("{\"" + e128 + "\": 1}").entries()[0].node.size(), 256u);
    EXPECT_CE_ERROR(VClock::parse("{\"" + e128 + "\\u00e9\": 1}"), Errc::limit_exceeded);

    auto many = [](int n) {
        std::string s = "{";
        for (int i = 0; i < n; ++i) s += (i ? ", \"n" : "\"n") + std::to_string(i) + "\": 1";
        return s + "}";
    };
    EXPECT_EQ(VClock::parse(many(1024)).size(), 1024u);
    EXPECT_CE_ERROR(VClock::parse(many(1025)), Errc::limit_exceeded);
}

// ---------------------------------------------------------------------------
// Relations

TEST(VClockCompare, EveryRelation) {
    EXPECT_EQ(compare(vc(R"({"a": 1})"), vc(R"({"a": 2})")), Relation::before);
    EXPECT_EQ(compare(vc(R"({"a": 2})"), vc(R"({"a": 1})")), Relation::after);
    EXPECT_EQ(compare(vc(R"({"a": 1, "b": 2})"), vc(R"({"b": 2, "a": 1})")), Relation::equal);
    EXPECT_EQ(compare(vc(R"({"a": 2, "b": 1})"), vc(R"({"a": 1, "b": 2})")), Relation::concurrent);
    // Missing nodes count as 0.
    EXPECT_EQ(compare(vc(R"({"a": 1})"), vc(R"({"a": 1, "b": 1})")), Relation::before);
    EXPECT_EQ(compare(vc(R"({"a": 1, "b": 1})"), vc(R"({"b": 1})")), Relation::after);
    EXPECT_EQ(compare(vc(R"({"a": 1})"), vc(R"({"b": 1})")), Relation::concurrent);
    EXPECT_EQ(compare(vc(R"({"a": 0})"), vc("{}")), Relation::equal);
    // Empty clocks.
    EXPECT_EQ(compare(vc("{}"), vc("{}")), Relation::equal);
    EXPECT_EQ(compare(vc("{}"), vc(R"({"x": 1})")), Relation::before);
    EXPECT_EQ(compare(vc(R"({"x": 1})"), vc("{}")), Relation::after);
    EXPECT_STREQ(ce::relation_name(Relation::before), "before");
    EXPECT_STREQ(ce::relation_name(Relation::after), "after");
    EXPECT_STREQ(ce::relation_name(Relation::equal), "equal");
    EXPECT_STREQ(ce::relation_name(Relation::concurrent), "concurrent");
    EXPECT_TRUE(ce::dominates(Relation::after));
    EXPECT_TRUE(ce::dominates(Relation::equal));
    EXPECT_FALSE(ce::dominates(Relation::before));
    EXPECT_FALSE(ce::dominates(Relation::concurrent));
}

// The seed's compare: relation and divergent nodes from the union of the nodes.
TEST(VClockCompare, SeedExample) {
    VClock c1 = vc(R"({"node-a": 3, "node-b": 1})");
    VClock c2 = vc(R"({"node-a": 2, "node-b": 1, "node-c": 1})");
    EXPECT_EQ(compare(c1, c2), Relation::concurrent);
    auto d = divergent_nodes(c1, c2);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0], "node-a");
    EXPECT_EQ(d[1], "node-c");
}

TEST(VClockCompare, ViewsAgreeAndAntisymmetry) {
    RandomClocks r;
    int seen[4] = {0, 0, 0, 0};
    for (int i = 0; i < 5000; ++i) {
        VClock a = r.next();
        VClock b = r.partner(a);
        Relation rel = compare(a, b);
        ++seen[static_cast<int>(rel)];
        std::string ea = a.encode(), eb = b.encode();
        EXPECT_EQ(compare(VClockView(ea), VClockView(eb)), rel);
        Relation back = compare(b, a);
        switch (rel) {
            case Relation::before: EXPECT_EQ(back, Relation::after); break;
            case Relation::after: EXPECT_EQ(back, Relation::before); break;
            case Relation::equal:
                EXPECT_EQ(back, Relation::equal);
                EXPECT_EQ(a, b);
                EXPECT_EQ(ea, eb);  // canonical bytes
                break;
            case Relation::concurrent: EXPECT_EQ(back, Relation::concurrent); break;
        }
        // Relation agrees with the pointwise definition.
        bool le = true, ge = true;
        for (const auto& e : a.entries()) le = le && e.counter <= b.get(e.node);
        for (const auto& e : b.entries()) ge = ge && e.counter <= a.get(e.node);
        EXPECT_EQ(rel == Relation::before || rel == Relation::equal, le);
        EXPECT_EQ(rel == Relation::after || rel == Relation::equal, ge);
        // Divergent nodes: empty exactly when equal, symmetric, sorted, and exactly the differing nodes.
        auto d = divergent_nodes(a, b);
        EXPECT_EQ(d.empty(), rel == Relation::equal);
        EXPECT_EQ(d, divergent_nodes(b, a));
        EXPECT_EQ(d, divergent_nodes(VClockView(ea), VClockView(eb)));
        EXPECT_TRUE(std::is_sorted(d.begin(), d.end()));
        for (auto n : d) EXPECT_NE(a.get(n), b.get(n));
        std::size_t differing = 0;
        for (const auto& e : a.entries()) differing += e.counter != b.get(e.node);
        for (const auto& e : b.entries()) differing += a.get(e.node) == 0;
        EXPECT_EQ(d.size(), differing);
    }
    for (int k = 0; k < 4; ++k) EXPECT_GT(seen[k], 50) << "relation " << k << " too rare in the sample";
}

// ---------------------------------------------------------------------------
// Merge, increment, prune

TEST(VClockMerge, PointwiseMaximum) {
    EXPECT_EQ(merge(vc(R"({"a": 3, "b": 1})"), vc(R"({"b": 4, "c": 2})")).to_text(), R"({"a": 3, "b": 4, "c": 2})");
    EXPECT_EQ(merge(vc("{}"), vc("{}")).to_text(), "{}");
}

TEST(VClockMerge, Properties) {
    RandomClocks r;
    const VClock empty;
    for (int i = 0; i < 3000; ++i) {
        VClock a = r.next();
        VClock b = r.partner(a);
        VClock c = r.partner(b);
        VClock ab = merge(a, b);
        EXPECT_EQ(ab, merge(b, a));                                   // commutative
        EXPECT_EQ(merge(ab, c), merge(a, merge(b, c)));              // associative
        EXPECT_EQ(merge(a, a), a);                                    // idempotent
        EXPECT_EQ(merge(a, empty), a);                                // identity
        EXPECT_TRUE(ce::dominates(compare(ab, a)));                   // upper bound
        EXPECT_TRUE(ce::dominates(compare(ab, b)));
        if (ce::dominates(compare(c, a)) && ce::dominates(compare(c, b))) {  // least upper bound
            EXPECT_TRUE(ce::dominates(compare(c, ab)));
        }
        EXPECT_EQ(compare(a, b) == Relation::concurrent,
                  compare(ab, a) == Relation::after && compare(ab, b) == Relation::after);
    }
}

TEST(VClockMerge, UnionOverTheLimitLeavesTheClockUnchanged) {
    VClock a, b;
    for (int i = 0; i < 1024; ++i) a.set("a" + std::to_string(i), 1);
    for (int i = 0; i < 1024; ++i) b.set("b" + std::to_string(i), 1);
    VClock before = a;
    EXPECT_CE_ERROR(a.merge(b), Errc::limit_exceeded);
    EXPECT_EQ(a, before);
    EXPECT_EQ(merge(a, a), a);
}

TEST(VClockMerge, EncodedMatchesDecoded) {
    RandomClocks r;
    for (int i = 0; i < 3000; ++i) {
        VClock a = r.next();
        VClock b = i % 3 == 0 ? r.next() : r.partner(a);
        std::string ea = a.encode(), eb = b.encode();
        EXPECT_EQ(ce::merge_encoded(VClockView(ea), VClockView(eb)), merge(a, b).encode());
    }
    VClock a, b;
    for (int i = 0; i < 1000; ++i) a.set("a" + std::to_string(i), 1);
    for (int i = 0; i < 24; ++i) b.set("b" + std::to_string(i), 1);
    std::string ea = a.encode(), eb = b.encode();
    EXPECT_EQ(VClock::decode(ce::merge_encoded(VClockView(ea), VClockView(eb))).size(), 1024u);
    b.set("b24", 1);
    eb = b.encode();
    EXPECT_CE_ERROR(ce::merge_encoded(VClockView(ea), VClockView(eb)), Errc::limit_exceeded);
}

TEST(VClockIncrement, Monotonic) {
    RandomClocks r;
    for (int i = 0; i < 2000; ++i) {
        VClock x = r.next();
        for (const char* n : {"a", "node-2", "new node"}) {
            VClock y = x;
            y.increment(n);
            EXPECT_EQ(compare(x, y), Relation::before);
            EXPECT_EQ(compare(y, x), Relation::after);
            EXPECT_EQ(y.get(n), x.get(n) + 1);
            EXPECT_EQ(divergent_nodes(x, y), std::vector<std::string_view>{n});
        }
    }
    VClock z;
    z.increment("n").increment("n").increment("m");
    EXPECT_EQ(z.to_text(), R"({"m": 1, "n": 2})");
}

TEST(VClockIncrement, Errors) {
    VClock top = vc(R"({"a": 9223372036854775806})");
    top.increment("a");
    EXPECT_EQ(top.get("a"), ce::kVClockMaxCounter);
    EXPECT_CE_ERROR(top.increment("a"), Errc::out_of_range);
    EXPECT_EQ(top.get("a"), ce::kVClockMaxCounter);  // unchanged
    VClock x;
    EXPECT_CE_ERROR(x.increment(""), Errc::invalid_parameter);
    EXPECT_CE_ERROR(x.increment(std::string(257, 'x')), Errc::limit_exceeded);
    EXPECT_CE_ERROR(x.increment(std::string("a\0b", 3)), Errc::invalid_parameter);
    EXPECT_CE_ERROR(x.increment("\xff"), Errc::invalid_parameter);
    EXPECT_NO_THROW(x.increment(std::string(256, 'x')));
    VClock full;
    for (int i = 0; i < 1024; ++i) full.increment("n" + std::to_string(i));
    EXPECT_CE_ERROR(full.increment("another"), Errc::limit_exceeded);
    EXPECT_NO_THROW(full.increment("n7"));
    EXPECT_EQ(full.get("n7"), 2u);
}

TEST(VClockSet, ZeroRemovesAndRangeIsChecked) {
    VClock x = vc(R"({"a": 1, "b": 2})");
    x.set("a", 0);
    EXPECT_EQ(x.to_text(), R"({"b": 2})");
    x.set("c", 0);
    EXPECT_EQ(x.size(), 1u);
    EXPECT_CE_ERROR(x.set("c", ce::kVClockMaxCounter + 1), Errc::out_of_range);
    std::vector<std::string_view> nodes = vc(R"({"z": 1, "y": 1})").nodes();
    EXPECT_EQ(nodes.size(), 2u);
}

TEST(VClockPrune, KeepsHighestCountersTiesByNode) {
    VClock x = vc(R"({"a": 1, "b": 5, "c": 5, "d": 2, "e": 9})");
    EXPECT_EQ(x.pruned(0).to_text(), "{}");
    EXPECT_EQ(x.pruned(1).to_text(), R"({"e": 9})");
    EXPECT_EQ(x.pruned(2).to_text(), R"({"b": 5, "e": 9})");  // b beats c on the tie
    EXPECT_EQ(x.pruned(3).to_text(), R"({"b": 5, "c": 5, "e": 9})");
    EXPECT_EQ(x.pruned(4).to_text(), R"({"b": 5, "c": 5, "d": 2, "e": 9})");
    EXPECT_EQ(x.pruned(5), x);
    EXPECT_EQ(x.pruned(1000), x);
}

TEST(VClockPrune, DeterministicWhateverTheInputOrder) {
    RandomClocks r;
    for (int i = 0; i < 500; ++i) {
        VClock x = r.next();
        // Re-spell the clock with its members shuffled (the pool's node ids need no escapes).
        std::vector<VClock::Entry> entries = x.entries();
        std::shuffle(entries.begin(), entries.end(), r.rng());
        std::string text = "{";
        for (std::size_t k = 0; k < entries.size(); ++k)
            text += (k ? ", \"" : "\"") + entries[k].node + "\": " + std::to_string(entries[k].counter);
        text += "}";
        VClock y = VClock::parse(text);
        ASSERT_EQ(x, y);
        for (std::size_t m = 0; m <= x.size(); ++m) {
            VClock p = x.pruned(m);
            EXPECT_EQ(p, y.pruned(m));
            EXPECT_EQ(p.size(), m);
            EXPECT_TRUE(ce::dominates(compare(x, p)));  // pruning only drops entries
        }
    }
}

TEST(VClockPrune, ForgetsCausality) {
    VClock a = vc(R"({"a": 5, "b": 1})");
    VClock b = vc(R"({"a": 4, "c": 1})");
    EXPECT_EQ(compare(a, b), Relation::concurrent);
    EXPECT_EQ(compare(a.pruned(1), b.pruned(1)), Relation::after);
}

// ---------------------------------------------------------------------------
// Encoding

TEST(VClockBinary, Layout) {
    EXPECT_EQ(vc("{}").encode(), std::string("\x01\x00", 2));
    EXPECT_EQ(vc(R"({"ab": 1, "c": 300})").encode(), std::string("\x01\x02\x01" "ab\x01" "\x00" "c\xac\x02", 10));
    std::string max = vc(R"({"a": 9223372036854775807})").encode();
    EXPECT_EQ(max.size(), 1u + 1 + 1 + 1 + 9);
}

TEST(VClockBinary, RoundTripsTextBinaryText) {
    RandomClocks r;
    for (int i = 0; i < 2000; ++i) {
        VClock x = r.next();
        std::string text = x.to_text();
        std::string bin = VClock::parse(text).encode();
        VClock y = VClock::decode(bin);
        EXPECT_EQ(y, x);
        EXPECT_EQ(y.to_text(), text);
        EXPECT_EQ(y.encode(), bin);
        EXPECT_EQ(VClock::from_view(VClockView(bin)), x);
        VClockView v(bin);
        EXPECT_EQ(v.size(), x.size());
        for (const auto& e : x.entries()) EXPECT_EQ(v.get(e.node), e.counter);
        EXPECT_EQ(v.get("absent"), 0u);
    }
    // Large counters and long, escaped node ids.
    VClock big = vc(R"({"\"q\"\n": 9223372036854775807, "x": 128, "y": 16384})");
    big.set(std::string(256, 'L'), 127);
    EXPECT_EQ(VClock::decode(big.encode()), big);
    EXPECT_EQ(VClock::parse(big.to_text()), big);
}

TEST(VClockBinary, DecodeRejectsNonCanonicalInput) {
    auto bad = [](std::string bytes) { EXPECT_CE_ERROR(VClock::decode(bytes), Errc::invalid_binary); };
    bad("");
    bad(std::string("\x02\x00", 2));                              // unknown version
    bad(std::string("\x01", 1));                                  // no count
    bad(std::string("\x01\x00\x00", 3));                          // trailing byte
    bad(std::string("\x01\x01", 2));                              // entry missing
    bad(std::string("\x01\x01\x00", 3));                          // node missing
    bad(std::string("\x01\x01\x00" "a", 4));                      // counter missing
    bad(std::string("\x01\x01\x00" "a\x00", 5));                  // zero counter
    bad(std::string("\x01\x01\x00" "a\x81\x00", 6));              // overlong varint
    bad(std::string("\x01\x81\x00\x00" "a\x01", 6));              // overlong count
    bad(std::string("\x01\x01\x00" "a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 14));  // > 63 bits
    bad(std::string("\x01\x02\x00" "b\x01\x00" "a\x01", 8));      // not sorted
    bad(std::string("\x01\x02\x00" "a\x01\x00" "a\x01", 8));      // duplicate
    bad(std::string("\x01\x01\x00" "\xff\x01", 5));               // not UTF-8
    bad(std::string("\x01\x01\x00" "\x00\x01", 5));               // U+0000
    bad(std::string("\x01\x81\x08", 3));                          // 1025 entries
    bad(std::string("\x01\x01\x05" "ab\x01", 5));                 // node length beyond the end
    EXPECT_EQ(VClock::decode(std::string("\x01\x01\x00" "a\x01", 5)).to_text(), R"({"a": 1})");
}

TEST(VClockBinary, CorruptViewsThrowInsteadOfReadingOutOfBounds) {
    EXPECT_CE_ERROR(VClockView(std::string_view()), Errc::internal);
    EXPECT_CE_ERROR(VClockView(std::string_view("\x07\x00", 2)), Errc::internal);
    std::string truncated("\x01\x02\x00" "a\x01", 5);  // claims 2 entries, has 1
    VClockView v(truncated);
    EXPECT_CE_ERROR(v.get("b"), Errc::internal);
    std::string ok = vc(R"({"a": 1, "b": 1})").encode();
    EXPECT_CE_ERROR(compare(v, VClockView(ok)), Errc::internal);
}

TEST(VClockClientCheck, AcceptsClocksFromTheHistoryAndOwnOfflineEdits) {
    VClock head = vc(R"({"s1": 4, "s2": 7})");
    // The clock of any stored version, or a join of some, is dominated by the head.
    EXPECT_NO_THROW(ce::check_client_clock(vc(R"({"s1": 2})"), head, "s3", 10));
    EXPECT_NO_THROW(ce::check_client_clock(vc(R"({"s1": 4, "s2": 7})"), head, "s3", 10));
    EXPECT_NO_THROW(ce::check_client_clock(vc("{}"), head, "s3", 10));
    // The writer's own node may run ahead by at most max_ahead (edits counted offline),
    // also when the file has never seen it.
    EXPECT_NO_THROW(ce::check_client_clock(vc(R"({"s1": 14, "s2": 7})"), head, "s1", 10));
    EXPECT_NO_THROW(ce::check_client_clock(vc(R"({"s3": 10})"), head, "s3", 10));
    EXPECT_CE_ERROR(ce::check_client_clock(vc(R"({"s1": 15})"), head, "s1", 10), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::check_client_clock(vc(R"({"s3": 11})"), head, "s3", 10), Errc::invalid_parameter);
}

TEST(VClockClientCheck, WithoutAnActorNoNodeMayBeAhead) {
    // A write without a session: the author's node is shared by the author's devices.
    VClock head = vc(R"({"s1": 4, "s2": 7})");
    EXPECT_NO_THROW(ce::check_client_clock(vc(R"({"s1": 4, "s2": 7})"), head, "", 10));
    EXPECT_CE_ERROR(ce::check_client_clock(vc(R"({"s1": 5, "s2": 7})"), head, "", 10), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::check_client_clock(vc(R"({"s3": 1})"), head, "", 10), Errc::invalid_parameter);
}

TEST(VClockClientCheck, RefusesCraftedCountersAndUnknownNodes) {
    VClock head = vc(R"({"s1": 4, "s2": 7})");
    // Another actor's counter pushed to the maximum would make it overflow on its next write.
    EXPECT_CE_ERROR(ce::check_client_clock(vc(R"({"s2": 9223372036854775807})"), head, "s1", 1000),
                    Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::check_client_clock(vc(R"({"s2": 8})"), head, "s1", 1000), Errc::invalid_parameter);
    // Junk nodes would fill the head clock up to its entry limit.
    EXPECT_CE_ERROR(ce::check_client_clock(vc(R"({"junk-1": 1})"), head, "s1", 1000), Errc::invalid_parameter);
    // No overflow of the bound at the top of the range.
    VClock top = vc(R"({"s1": 9223372036854775800})");
    EXPECT_NO_THROW(ce::check_client_clock(vc(R"({"s1": 9223372036854775807})"), top, "s1", 1000000));
    try {
        ce::check_client_clock(vc(R"({"s2": 100})"), head, "s1", 10);
        FAIL() << "no error";
    } catch (const ce::Error& e) {
        EXPECT_NE(std::string(e.detail()).find("\"node\": \"s2\""), std::string::npos) << e.detail();
    }
}

// A file's clock stays within ce::kVClockMaxEntries: past ce::kVClockMaxEntries - 1 actors,
// new ones are counted on the overflow node, and every version still follows the
// head (before, the 1,024th actor's write was refused, and so was every later
// new writer's).
TEST(VClockNextVersion, NewActorsOfAFullClockCountOnTheOverflowNode) {
    VClock head;
    for (std::size_t i = 0; i < ce::kVClockMaxEntries - 1; ++i) head.increment("actor-" + std::to_string(i));
    VClock first = ce::next_version_clock(head, nullptr, "newcomer");
    EXPECT_EQ(first.size(), ce::kVClockMaxEntries);
    EXPECT_EQ(first.get(ce::kVClockOverflowNode), 1u);
    EXPECT_EQ(first.get("newcomer"), 0u);
    EXPECT_EQ(ce::compare(head, first), ce::Relation::before);
    VClock second = ce::next_version_clock(first, nullptr, "another");
    EXPECT_EQ(second.size(), ce::kVClockMaxEntries);
    EXPECT_EQ(second.get(ce::kVClockOverflowNode), 2u);
    EXPECT_EQ(ce::compare(first, second), ce::Relation::before);
    // A known actor keeps counting on its own node.
    VClock known = ce::next_version_clock(second, nullptr, "actor-7");
    EXPECT_EQ(known.get("actor-7"), 2u);
    EXPECT_EQ(known.get(ce::kVClockOverflowNode), 2u);
    // A folded actor's offline count (its own node, ahead) is left out; the rest of
    // its clock is merged.
    VClock client = head;  // read before the overflow node came (a full clock takes no offline node)
    client.increment("latecomer").increment("latecomer");
    VClock merged = ce::next_version_clock(second, &client, "latecomer");
    EXPECT_EQ(merged.size(), ce::kVClockMaxEntries);
    EXPECT_EQ(merged.get("latecomer"), 0u);
    EXPECT_EQ(merged.get(ce::kVClockOverflowNode), 3u);
    EXPECT_EQ(ce::compare(second, merged), ce::Relation::before);
}

TEST(VClockNextVersion, BelowTheLimitTheActorCounts) {
    VClock head = VClock::parse(R"({"a": 1})");
    VClock client = VClock::parse(R"({"a": 1, "s": 3})");
    VClock next = ce::next_version_clock(head, &client, "s");
    EXPECT_EQ(next, VClock::parse(R"({"a": 1, "s": 4})"));
    EXPECT_EQ(ce::next_version_clock(head, nullptr, "a"), VClock::parse(R"({"a": 2})"));
}

// A clock filled with 1,024 writers before the overflow node existed has no room
// for it: a new writer gets limit_exceeded naming that cause; a known one writes.
TEST(VClockNextVersion, AClockFilledBeforeTheOverflowNodeRefusesNewWriters) {
    VClock head;
    for (std::size_t i = 0; i < ce::kVClockMaxEntries; ++i) head.increment("actor-" + std::to_string(i));
    EXPECT_CE_ERROR(ce::next_version_clock(head, nullptr, "newcomer"), Errc::limit_exceeded);
    VClock next = ce::next_version_clock(head, nullptr, "actor-3");
    EXPECT_EQ(next.get("actor-3"), 2u);
    EXPECT_EQ(ce::compare(head, next), Relation::before);
}

// write()'s base when retention removed the versions after it: a clock is the
// kept version's own only when it equals it, or is ahead on the writing
// session's node alone and that session wrote none of the removed versions.
TEST(VClockIsClockOf, TellsAKeptVersionsClockFromARemovedOnes) {
    VClock v5 = VClock::parse(R"({"a": 3, "s": 2})");
    VClock v6 = ce::next_version_clock(v5, nullptr, "b");   // removed, written by b
    VClock v7 = ce::next_version_clock(v6, nullptr, "a");   // the next kept one
    EXPECT_TRUE(ce::is_clock_of(v5, v5, v7, ""));           // read version 5 itself
    EXPECT_FALSE(ce::is_clock_of(v6, v5, v7, ""));          // read the removed version 6
    EXPECT_FALSE(ce::is_clock_of(v6, v5, v7, "s"));         // ... whoever writes
    // Session s read version 5 and counted two edits offline: still version 5's.
    VClock offline = VClock::parse(R"({"a": 3, "s": 4})");
    EXPECT_TRUE(ce::is_clock_of(offline, v5, v7, "s"));
    EXPECT_FALSE(ce::is_clock_of(offline, v5, v7, ""));      // without a session none may be ahead
    EXPECT_FALSE(ce::is_clock_of(offline, v5, v7, "a"));     // ahead on another node than the actor's
    // Had s written a removed version (6'), its clock would be ahead on s too:
    // with the offline count it cannot be told from version 5's, so it is not.
    VClock v6s = ce::next_version_clock(v5, nullptr, "s");
    VClock v7s = ce::next_version_clock(v6s, nullptr, "a");
    EXPECT_FALSE(ce::is_clock_of(v6s, v5, v7s, "s"));
    EXPECT_FALSE(ce::is_clock_of(offline, v5, v7s, "s"));
}
