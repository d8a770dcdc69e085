// The JSON value type: parser, printer, jsonb equality and ordering, limits.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <string>

#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/json.hpp"
#include "test_util.hpp"

using ce::Errc;
using ce::json::Kind;
using ce::json::Value;
using ce::json::parse;
using ce::json::to_string;

namespace {

std::string roundtrip(const std::string& text) { return to_string(parse(text)); }

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

TEST(Json, PrintsInJsonbStyle) {
    EXPECT_EQ(roundtrip(R"({"b":[true,false,null],"a":1})"), R"({"a": 1, "b": [true, false, null]})");
    EXPECT_EQ(roundtrip(" [ ] "), "[]");
    EXPECT_EQ(roundtrip("{ }"), "{}");
    EXPECT_EQ(roundtrip("\"x\""), "\"x\"");
    EXPECT_EQ(roundtrip("-0.5e-3"), "-0.5e-3");  // numbers keep their text
    EXPECT_EQ(roundtrip("null"), "null");
    EXPECT_EQ(roundtrip("[[],{},[{}]]"), "[[], {}, [{}]]");
}

TEST(Json, KeysInJsonbOrderLastDuplicateWins) {
    // jsonb orders keys by length, then bytewise.
    EXPECT_EQ(roundtrip(R"({"bb":1,"a":2,"c":3,"B":4})"), R"({"B": 4, "a": 2, "c": 3, "bb": 1})");
    EXPECT_EQ(roundtrip(R"({"k":1,"j":0,"k":2})"), R"({"j": 0, "k": 2})");
    Value v = parse(R"({"name":"cam","id":7})");
    ASSERT_NE(v.find("id"), nullptr);
    EXPECT_EQ(v.find("id")->text(), "7");
    EXPECT_EQ(v.find("missing"), nullptr);
    EXPECT_EQ(v.members().front().key, "id");
}

TEST(Json, NumbersKeepTextCompareByValue) {
    const std::string big = "12345678901234567890.123456789012345678901234567890";
    EXPECT_EQ(roundtrip(big), big);
    EXPECT_NE(parse(big), parse("12345678901234567890.123456789012345678901234567891"));
    for (const char* same : {"1", "1.0", "1.00", "1e0", "0.1e1", "10e-1", "1E+0"}) {
        EXPECT_EQ(parse(same), parse("1")) << same;
        EXPECT_EQ(parse(same).hash(), parse("1").hash()) << same;
    }
    EXPECT_EQ(parse("100"), parse("1e2"));
    EXPECT_EQ(parse("0.001"), parse("1e-3"));
    EXPECT_EQ(parse("-0"), parse("0"));
    EXPECT_EQ(parse("0.000"), parse("0e5"));
    EXPECT_NE(parse("1"), parse("1.1"));
    EXPECT_NE(parse("1"), parse("-1"));
    EXPECT_NE(parse("10"), parse("1"));
    EXPECT_NE(parse("1"), parse("\"1\""));
    EXPECT_TRUE(identical(parse("1.0"), parse("1.0")));
    EXPECT_FALSE(identical(parse("1.0"), parse("1.00")));
    EXPECT_FALSE(identical(parse("[1.0]"), parse("[1]")));
    EXPECT_EQ(parse("[1.0]"), parse("[1]"));
    EXPECT_EQ(parse(R"({"a":1.50})"), parse(R"({"a":1.5})"));
}

TEST(Json, EqualityIsStructural) {
    EXPECT_EQ(parse(R"({"a":[1,{"b":null}],"c":"x"})"), parse(R"({"c":"x","a":[1,{"b":null}]})"));
    EXPECT_NE(parse("[1,2]"), parse("[2,1]"));
    EXPECT_NE(parse(R"({"a":1})"), parse(R"({"a":1,"b":1})"));
    EXPECT_NE(parse("null"), parse("false"));
    EXPECT_NE(parse("[]"), parse("{}"));
    EXPECT_EQ(Value(), parse("null"));
    EXPECT_EQ(Value::boolean(true), parse("true"));
}

TEST(Json, StringsAndEscapes) {
    EXPECT_EQ(parse(R"("caf\u00e9")").text(), "caf\xc3\xa9");
    EXPECT_EQ(parse(R"("\ud83d\ude00")").text(), "\xf0\x9f\x98\x80");
    EXPECT_EQ(parse(R"("a\/b\\c\"d\b\f\n\r\t")").text(), "a/b\\c\"d\b\f\n\r\t");
    EXPECT_EQ(parse("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"").text(), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    EXPECT_EQ(roundtrip(R"("\u0001 \" \\ \n é")"), "\"\\u0001 \\\" \\\\ \\n \xc3\xa9\"");
    EXPECT_EQ(roundtrip(R"("\u001f\u007f")"), "\"\\u001f\x7f\"");
}

// Escapes of code points: four hex digits, a surrogate pair above U+FFFF (a JSON
// parser reads "\ue0001" as U+E000 followed by "1").
TEST(Json, EscapesCodePointsAsUtf16) {
    auto escaped = [](std::uint32_t cp) {
        std::string out;
        ce::json::append_json_escape(out, cp);
        return out;
    };
    EXPECT_EQ(escaped(0x01), "\\u0001");
    EXPECT_EQ(escaped(0x202E), "\\u202e");
    EXPECT_EQ(escaped(0xFFFF), "\\uffff");
    EXPECT_EQ(escaped(0x10000), "\\ud800\\udc00");
    EXPECT_EQ(escaped(0x1F600), "\\ud83d\\ude00");
    EXPECT_EQ(escaped(0xE0001), "\\udb40\\udc01");
    EXPECT_EQ(escaped(0x10FFFF), "\\udbff\\udfff");
    // Each parses back to the code point.
    for (std::uint32_t cp : {0x01u, 0x7Fu, 0xE9u, 0x202Eu, 0xFEFFu, 0xFFFFu, 0x10000u, 0x1F600u, 0xE0001u, 0xE01EFu, 0x10FFFFu}) {
        std::string utf8;
        ce::json::append_utf8(utf8, cp);
        EXPECT_EQ(parse("\"" + escaped(cp) + "\"").text(), utf8) << std::hex << cp;
    }
    // Control characters in a JSON string go through the same escaper.
    std::string out;
    ce::json::append_json_string(out, std::string("a\x01\x1f", 3));
    EXPECT_EQ(out, "\"a\\u0001\\u001f\"");
}

TEST(Json, RejectsMalformedText) {
    for (const char* bad :
         {"", " ", "{", "[", "]", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":}", "{1:2}", "{'a':1}", "01",
          "-01", "1.", ".5", "+1", "1e", "1e+", "-", "NaN", "Infinity", "tru", "nul", "True", "[1] 2", "1 2",
          "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"a\nb\"", "\"a\tb\"", "// c\n1", "/* */1", "[1]]",
          "{\"a\":1}}", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\u0000\"", "\"\xff\"",
          "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "\"\x80\""}) {
        EXPECT_CE_ERROR(parse(bad), Errc::invalid_json);
    }
    EXPECT_CE_ERROR(Value::number("1.2.3"), Errc::invalid_json);
    EXPECT_CE_ERROR(Value::number(""), Errc::invalid_json);
    EXPECT_CE_ERROR(parse("1e1000000001"), Errc::out_of_range);
    EXPECT_EQ(parse("1e999999999"), parse("10e999999998"));
}

TEST(Json, ErrorsNameTheOffset) {
    try {
        parse("[1, 2, x]");
        FAIL() << "no error";
    } catch (const ce::Error& e) {
        EXPECT_EQ(std::string(e.what()), "invalid JSON: a value was expected at byte 7");
    }
}

TEST(Json, DepthLimit) {
    EXPECT_EQ(parse(nested(ce::json::kMaxDepth)).depth(), ce::json::kMaxDepth);
    EXPECT_CE_ERROR(parse(nested(ce::json::kMaxDepth + 1)), Errc::limit_exceeded);
    EXPECT_CE_ERROR(parse("[[[1]]]", {static_cast<std::size_t>(-1), 2}), Errc::limit_exceeded);
    EXPECT_EQ(parse("[[1]]", {static_cast<std::size_t>(-1), 2}).depth(), 2u);
    // Values cannot be built deeper than kMaxDepth + kDepthHeadroom by any route.
    Value v = parse(nested(ce::json::kMaxDepth));
    Value deeper = v;
    for (std::size_t i = 0; i < ce::json::kDepthHeadroom; ++i) deeper = Value::array({deeper});
    EXPECT_EQ(deeper.depth(), ce::json::kMaxDepth + ce::json::kDepthHeadroom);
    EXPECT_CE_ERROR(Value::array({deeper}), Errc::limit_exceeded);
    EXPECT_CE_ERROR(Value::object({{"k", deeper}}), Errc::limit_exceeded);
    ce::json::Builder b;
    EXPECT_CE_ERROR(b.add(Value::array({v})), Errc::limit_exceeded);  // input stays at kMaxDepth
    // A deep value prints, compares and is destroyed without trouble.
    EXPECT_EQ(to_string(v), nested(ce::json::kMaxDepth));
    EXPECT_EQ(v, parse(nested(ce::json::kMaxDepth)));
}

TEST(Json, SizeLimit) {
    EXPECT_CE_ERROR(parse("[1,2,3]", {6, ce::json::kMaxDepth}), Errc::limit_exceeded);
    EXPECT_EQ(parse("[1,2,3]", {7, ce::json::kMaxDepth}).items().size(), 3u);
}

TEST(Json, BuilderChecksStructure) {
    ce::json::Builder b;
    b.begin_object();
    EXPECT_CE_ERROR(b.add(Value()), Errc::invalid_json);  // value without key
    b.key("k");
    EXPECT_CE_ERROR(b.key("again"), Errc::invalid_json);
    b.add(Value::number(1));
    EXPECT_FALSE(b.complete());
    EXPECT_CE_ERROR(b.take(), Errc::invalid_json);
    b.end();
    EXPECT_TRUE(b.complete());
    EXPECT_CE_ERROR(b.add(Value()), Errc::invalid_json);  // second top-level value
    EXPECT_EQ(to_string(b.take()), R"({"k": 1})");
    ce::json::Builder c(1);
    c.begin_array();
    EXPECT_CE_ERROR(c.begin_array(), Errc::limit_exceeded);
    EXPECT_CE_ERROR(c.add(parse("[1]")), Errc::limit_exceeded);
}

TEST(Json, InternerSharesIdenticalContainers) {
    const Value base = parse(R"({"list": [{"id": 1, "v": [1, 2]}, {"id": 2, "v": []}], "n": {"x": 1.0}})");
    const ce::json::Interner interner(base);
    EXPECT_EQ(interner.size(), 7u);  // the root, list, two elements, [1, 2], [], {"x": 1.0}
    EXPECT_EQ(ce::json::Interner(parse("[[], [], {}, [[]]]")).size(), 4u);  // identical ones once
    ce::json::ParseOptions options;
    options.interner = &interner;
    // One element changed: the other element, its array and the unchanged member share
    // the base's nodes; the changed parts are new; the result equals a plain parse.
    const char* text = R"({"list": [{"id": 1, "v": [1, 2]}, {"id": 3, "v": []}], "n": {"x": 1}})";
    const Value ours = parse(text, options);
    EXPECT_TRUE(identical(ours, parse(text)));
    EXPECT_TRUE(ours.find("list")->items()[0].same_node(base.find("list")->items()[0]));
    EXPECT_TRUE(ours.find("list")->items()[1].find("v")->same_node(*base.find("list")->items()[1].find("v")));
    EXPECT_FALSE(ours.find("list")->items()[1].same_node(base.find("list")->items()[1]));
    // Equal but spelled differently (1 and 1.0) is not shared: the text is kept.
    EXPECT_FALSE(ours.find("n")->same_node(*base.find("n")));
    EXPECT_EQ(ours.find("n")->find("x")->text(), "1");
    // An unchanged document is the reference itself.
    EXPECT_TRUE(parse(to_string(base), options).same_node(base));
}

TEST(Json, ParserChecksInterrupts) {
    std::string big = "[";
    for (int i = 0; i < 100000; ++i) big += (i ? ",\"s" : "\"s") + std::to_string(i) + "\"";
    big += "]";
    EXPECT_CANCELED_BY_INTERRUPTS(parse(big));
    EXPECT_EQ(parse(big).items().size(), 100000u);
}

// The hashes are keyed (a random key per process). Before, a string's hash was a
// public function of its bytes: for 16-byte strings w1 w2, choosing w2 from the
// state after w1 gave every such string one hash, and a merge of arrays of such
// ids scanned a hash map's whole chain at each lookup (found by review). Those
// strings, built against that function, now get distinct hashes.
TEST(Json, StringHashesAreKeyed) {
    auto mix = [](std::uint64_t h, std::uint64_t w) {
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
        return h ^ (h >> 29);
    };
    const std::uint64_t h0 = 0x73747269ULL ^ (16 * 0xff51afd7ed558ccdULL);  // the old string seed and length term
    std::set<std::uint64_t> hashes;
    for (std::uint64_t w1 = 1; w1 <= 2000; ++w1) {
        const std::uint64_t w2 = mix(h0, w1) ^ 0x5555555555555555ULL;  // the old state after w1, cancelled
        std::string s(16, '\0');
        std::memcpy(&s[0], &w1, 8);
        std::memcpy(&s[8], &w2, 8);
        hashes.insert(ce::json::Value::string(s).hash());
    }
    EXPECT_GT(hashes.size(), 1990u);  // the old hash: 1
    // Equal values still hash alike, within the process.
    EXPECT_EQ(ce::json::parse(R"({"a": [null, true, "x"]})").hash(), ce::json::parse(R"({"a":[null,true,"x"]})").hash());
    EXPECT_NE(ce::json::parse("[true]").hash(), ce::json::parse("[false]").hash());
}
