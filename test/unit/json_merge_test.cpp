// Three-way JSON merge: semantics by example, properties on random documents, the
// sequence diff, limits and cancellation.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "../fuzz/json_mutator.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/json.hpp"
#include "concurrent_edit/json_merge.hpp"
#include "concurrent_edit/memory.hpp"
#include "test_util.hpp"

using ce::Errc;
using ce::json::ArrayMode;
using ce::json::MergeResult;
using ce::json::Value;
using ce::json::parse;
using ce::json::to_string;

namespace {

MergeResult merge(const char* base, const char* ours, const char* theirs, ArrayMode mode = ArrayMode::auto_) {
    Value o = parse(ours), t = parse(theirs);
    if (base == nullptr) return ce::json::merge3(nullptr, o, t, mode);
    Value b = parse(base);
    return ce::json::merge3(&b, o, t, mode);
}

std::string content(const MergeResult& r) { return to_string(r.content); }
std::string conflicts(const MergeResult& r) { return to_string(ce::json::conflicts_to_value(r.conflicts)); }

// Clean merge whose content is `expected` (compared as jsonb values, shown as text).
void expect_clean(const MergeResult& r, const char* expected) {
    EXPECT_TRUE(r.clean) << conflicts(r);
    EXPECT_TRUE(r.conflicts.empty());
    EXPECT_EQ(content(r), to_string(parse(expected)));
}

}  // namespace

TEST(JsonMerge, ArrayModeNames) {
    EXPECT_EQ(ce::json::parse_array_mode("auto"), ArrayMode::auto_);
    EXPECT_EQ(ce::json::parse_array_mode("id"), ArrayMode::by_id);
    EXPECT_EQ(ce::json::parse_array_mode("sequence"), ArrayMode::sequence);
    EXPECT_EQ(ce::json::parse_array_mode("atomic"), ArrayMode::atomic);
    for (ArrayMode m : {ArrayMode::auto_, ArrayMode::by_id, ArrayMode::sequence, ArrayMode::atomic})
        EXPECT_EQ(ce::json::parse_array_mode(ce::json::array_mode_name(m)), m);
    for (const char* bad : {"", "Auto", "ids", "seq", " auto"}) EXPECT_CE_ERROR(ce::json::parse_array_mode(bad), Errc::invalid_parameter);
    try {
        ce::json::parse_array_mode(std::string(100, 'x') + "\xc3\xa9");
        FAIL();
    } catch (const ce::Error& e) {
        EXPECT_EQ(e.hint(), "array_mode is one of: auto, id, sequence, atomic.");
        EXPECT_LT(std::string(e.what()).size(), 100u);
    }
}

// ---------------------------------------------------------------------------- objects

TEST(JsonMerge, ObjectsKeyByKey) {
    expect_clean(merge(R"({"a":1,"b":1})", R"({"a":2,"b":1})", R"({"a":1,"b":3})"), R"({"a":2,"b":3})");
    // changed identically on both sides
    expect_clean(merge(R"({"a":1})", R"({"a":5})", R"({"a":5})"), R"({"a":5})");
    // added on one side / on both sides with different keys
    expect_clean(merge(R"({})", R"({"x":1})", R"({"y":2})"), R"({"x":1,"y":2})");
    // deleted on one side and unchanged on the other; deleted on both
    expect_clean(merge(R"({"a":1,"b":2})", R"({"b":2})", R"({"a":1,"b":3})"), R"({"b":3})");
    expect_clean(merge(R"({"a":1,"b":2})", R"({"b":2})", R"({"b":2})"), R"({"b":2})");
    // nested objects recurse
    expect_clean(merge(R"({"v":{"name":"Hall","city":"Oslo"}})", R"({"v":{"name":"Arena","city":"Oslo"}})",
                       R"({"v":{"name":"Hall","city":"Bergen"}})"),
                 R"({"v":{"name":"Arena","city":"Bergen"}})");
}

TEST(JsonMerge, ModifyModifyConflictKeepsOurs) {
    MergeResult r = merge(R"({"v":{"name":"Hall"},"n":1})", R"({"v":{"name":"Arena"},"n":2})",
                          R"({"v":{"name":"Dome"},"n":1})");
    EXPECT_FALSE(r.clean);
    EXPECT_EQ(content(r), R"({"n": 2, "v": {"name": "Arena"}})");
    EXPECT_EQ(conflicts(r),
              R"([{"base": "Hall", "kind": "modify/modify", "ours": "Arena", "path": ["v", "name"], "theirs": "Dome"}])");
    // type changes are modifications too
    r = merge(R"({"a":1})", R"({"a":[1]})", R"({"a":{"x":1}})");
    EXPECT_EQ(conflicts(r), R"([{"base": 1, "kind": "modify/modify", "ours": [1], "path": ["a"], "theirs": {"x": 1}}])");
    r = merge(R"({"a":1})", R"({"a":{"y":1}})", R"({"a":{"x":1}})");  // both made it an object
    EXPECT_EQ(r.conflicts.size(), 1u);
    EXPECT_EQ(content(r), R"({"a": {"y": 1}})");
}

TEST(JsonMerge, DeleteModifyConflict) {
    // theirs deleted, ours modified: content keeps ours
    MergeResult r = merge(R"({"a":1,"b":1})", R"({"a":2,"b":1})", R"({"b":1})");
    EXPECT_EQ(content(r), R"({"a": 2, "b": 1})");
    EXPECT_EQ(conflicts(r), R"([{"base": 1, "kind": "delete/modify", "ours": 2, "path": ["a"]}])");
    // ours deleted, theirs modified: content follows ours (deleted), theirs is in the conflict
    r = merge(R"({"a":1,"b":1})", R"({"b":1})", R"({"a":null,"b":1})");
    EXPECT_EQ(content(r), R"({"b": 1})");
    EXPECT_EQ(conflicts(r), R"([{"base": 1, "kind": "delete/modify", "path": ["a"], "theirs": null}])");
    // a JSON null is a value, not an absence
    r = merge(R"({"a":null})", R"({})", R"({"a":1})");
    EXPECT_EQ(conflicts(r), R"([{"base": null, "kind": "delete/modify", "path": ["a"], "theirs": 1}])");
    // a change deep inside a deleted subtree is a modification of it
    r = merge(R"({"a":{"x":{"y":1}}})", R"({})", R"({"a":{"x":{"y":2}}})");
    EXPECT_EQ(r.conflicts.size(), 1u);
    EXPECT_EQ(to_string(ce::json::path_to_value(r.conflicts[0].path)), R"(["a"])");
}

TEST(JsonMerge, AddAdd) {
    expect_clean(merge(R"({})", R"({"a":1})", R"({"a":1.0})"), R"({"a":1})");
    MergeResult r = merge(R"({})", R"({"a":1})", R"({"a":2})");
    EXPECT_EQ(conflicts(r), R"([{"kind": "add/add", "ours": 1, "path": ["a"], "theirs": 2}])");
    EXPECT_EQ(content(r), R"({"a": 1})");
    // objects added on both sides merge with an empty base
    expect_clean(merge(R"({})", R"({"a":{"x":1,"z":0}})", R"({"a":{"y":2,"z":0}})"), R"({"a":{"x":1,"y":2,"z":0}})");
    r = merge(R"({})", R"({"a":{"x":1}})", R"({"a":{"x":2}})");
    EXPECT_EQ(conflicts(r), R"([{"kind": "add/add", "ours": 1, "path": ["a", "x"], "theirs": 2}])");
    // arrays added on both sides: by id they merge, as sequences they conflict
    expect_clean(merge(R"({})", R"({"l":[{"id":1}]})", R"({"l":[{"id":2}]})"), R"({"l":[{"id":1},{"id":2}]})");
    r = merge(R"({})", R"({"l":[1]})", R"({"l":[2]})");
    EXPECT_EQ(conflicts(r), R"([{"kind": "add/add", "ours": [1], "path": ["l"], "theirs": [2]}])");
}

TEST(JsonMerge, NoCommonAncestor) {
    expect_clean(merge(nullptr, R"({"a":1})", R"({"a":1})"), R"({"a":1})");
    expect_clean(merge(nullptr, R"({"a":1})", R"({"b":2})"), R"({"a":1,"b":2})");
    MergeResult r = merge(nullptr, "1", "2");
    EXPECT_EQ(conflicts(r), R"([{"kind": "add/add", "ours": 1, "path": [], "theirs": 2}])");
    EXPECT_EQ(content(r), "1");
}

TEST(JsonMerge, ScalarDocuments) {
    expect_clean(merge("1", "1", "2"), "2");
    expect_clean(merge("\"a\"", "\"b\"", "\"a\""), "\"b\"");
    MergeResult r = merge("null", "true", "false");
    EXPECT_EQ(conflicts(r), R"([{"base": null, "kind": "modify/modify", "ours": true, "path": [], "theirs": false}])");
}

TEST(JsonMerge, NumbersByValueSpellingKept) {
    // 1.0 -> 1.00 is no change in value: the other side's change wins cleanly
    expect_clean(merge(R"({"a":1.0})", R"({"a":1.00})", R"({"a":2})"), R"({"a":2})");
    // only a re-spelling on one side: it is kept
    MergeResult r = merge(R"({"a":1.0})", R"({"a":1.0})", R"({"a":1.000})");
    EXPECT_EQ(content(r), R"({"a": 1.000})");
    // a side that only re-spells a number has not changed it
    r = merge(R"([1.0, 2])", R"([1.0, 2, 3])", R"([1.00, 2])");
    EXPECT_EQ(content(r), "[1.0, 2, 3]");
    r = merge(R"([1.0, 2])", R"([1.0, 2, 3])", R"([1.00, 2, 4])");
    EXPECT_EQ(content(r), "[1.00, 2, 3, 4]");
    const std::string big = "123456789012345678901234567890.000000000000000000001";
    r = merge("0", big.c_str(), "0");
    EXPECT_EQ(content(r), big);
}

// ---------------------------------------------------------------------------- the seed

// Seed 002: two people open production "Summer Festival 2026" at version 5; Kevin adds
// a camera and saves (version 6); Sarah, still on version 5, adds a source and edits
// the venue. A full-object save lost Kevin's camera; the merge keeps everything.
TEST(JsonMerge, SeedProductionScenario) {
    const char* v5 = R"({
        "name": "Summer Festival 2026",
        "venue": {"name": "Riverside Park", "capacity": 5000},
        "cameras": [{"id": "cam-1", "model": "Canon C300"}, {"id": "cam-2", "model": "Blackmagic 6K"}],
        "sources": [{"id": "src-1", "name": "Stage feed"}]})";
    const char* kevin = R"({
        "name": "Summer Festival 2026",
        "venue": {"name": "Riverside Park", "capacity": 5000},
        "cameras": [{"id": "cam-1", "model": "Canon C300"}, {"id": "cam-2", "model": "Blackmagic 6K"},
                    {"id": "cam-3", "model": "Sony A7"}],
        "sources": [{"id": "src-1", "name": "Stage feed"}]})";
    const char* sarah = R"({
        "name": "Summer Festival 2026",
        "venue": {"name": "Riverside Park, North Gate", "capacity": 5000},
        "cameras": [{"id": "cam-1", "model": "Canon C300"}, {"id": "cam-2", "model": "Blackmagic 6K"}],
        "sources": [{"id": "src-1", "name": "Stage feed"}, {"id": "src-2", "name": "Laptop 1"}]})";
    const char* expected = R"({
        "name": "Summer Festival 2026",
        "venue": {"name": "Riverside Park, North Gate", "capacity": 5000},
        "cameras": [{"id": "cam-1", "model": "Canon C300"}, {"id": "cam-2", "model": "Blackmagic 6K"},
                    {"id": "cam-3", "model": "Sony A7"}],
        "sources": [{"id": "src-1", "name": "Stage feed"}, {"id": "src-2", "name": "Laptop 1"}]})";
    expect_clean(merge(v5, kevin, sarah), expected);
    expect_clean(merge(v5, sarah, kevin), expected);
    // Both add a camera: both kept, ours first.
    MergeResult r = merge(R"({"cameras":[{"id":"cam-1"}]})", R"({"cameras":[{"id":"cam-1"},{"id":"cam-3"}]})",
                          R"({"cameras":[{"id":"cam-1"},{"id":"cam-4"}]})");
    expect_clean(r, R"({"cameras":[{"id":"cam-1"},{"id":"cam-3"},{"id":"cam-4"}]})");
}

// ---------------------------------------------------------------------------- arrays by id

TEST(JsonMerge, ById) {
    const char* b = R"([{"id":1,"n":"a"},{"id":2,"n":"b"},{"id":3,"n":"c"}])";
    // appends on both sides, ours first; several of theirs stay together and in order
    expect_clean(merge(b, R"([{"id":1,"n":"a"},{"id":2,"n":"b"},{"id":3,"n":"c"},{"id":4}])",
                       R"([{"id":1,"n":"a"},{"id":2,"n":"b"},{"id":3,"n":"c"},{"id":5},{"id":6}])"),
                 R"([{"id":1,"n":"a"},{"id":2,"n":"b"},{"id":3,"n":"c"},{"id":4},{"id":5},{"id":6}])");
    // prepends and insertions in the middle go after their preceding element
    expect_clean(merge(b, R"([{"id":0},{"id":1,"n":"a"},{"id":2,"n":"b"},{"id":3,"n":"c"}])",
                       R"([{"id":9},{"id":1,"n":"a"},{"id":2,"n":"b"},{"id":7},{"id":3,"n":"c"}])"),
                 R"([{"id":0},{"id":9},{"id":1,"n":"a"},{"id":2,"n":"b"},{"id":7},{"id":3,"n":"c"}])");
    // an insertion after an element the other side deleted goes after the nearest survivor
    expect_clean(merge(b, R"([{"id":1,"n":"a"},{"id":3,"n":"c"}])",
                       R"([{"id":1,"n":"a"},{"id":2,"n":"b"},{"id":8},{"id":3,"n":"c"}])"),
                 R"([{"id":1,"n":"a"},{"id":8},{"id":3,"n":"c"}])");
    // edits of different fields of one element merge; deletions apply
    expect_clean(merge(b, R"([{"id":1,"n":"A"},{"id":2,"n":"b"},{"id":3,"n":"c"}])",
                       R"([{"id":1,"n":"a","x":true},{"id":3,"n":"c"}])"),
                 R"([{"id":1,"n":"A","x":true},{"id":3,"n":"c"}])");
}

TEST(JsonMerge, ByIdConflicts) {
    const char* b = R"({"cams":[{"id":"c1","model":"A"},{"id":"c2","model":"B"}]})";
    MergeResult r = merge(b, R"({"cams":[{"id":"c1","model":"X"},{"id":"c2","model":"B"}]})",
                          R"({"cams":[{"id":"c1","model":"Y"},{"id":"c2","model":"B"}]})");
    EXPECT_EQ(conflicts(r),
              R"([{"base": "A", "kind": "modify/modify", "ours": "X", "path": ["cams", {"id": "c1"}, "model"], "theirs": "Y"}])");
    EXPECT_EQ(content(r), R"({"cams": [{"id": "c1", "model": "X"}, {"id": "c2", "model": "B"}]})");
    // deleted by theirs, modified by ours: kept (ours)
    r = merge(b, R"({"cams":[{"id":"c1","model":"X"},{"id":"c2","model":"B"}]})", R"({"cams":[{"id":"c2","model":"B"}]})");
    EXPECT_EQ(conflicts(r),
              R"([{"base": {"id": "c1", "model": "A"}, "kind": "delete/modify", "ours": {"id": "c1", "model": "X"}, "path": ["cams", {"id": "c1"}]}])");
    EXPECT_EQ(content(r), R"({"cams": [{"id": "c1", "model": "X"}, {"id": "c2", "model": "B"}]})");
    // deleted by ours, modified by theirs: dropped (ours)
    r = merge(b, R"({"cams":[{"id":"c2","model":"B"}]})", R"({"cams":[{"id":"c1","model":"Y"},{"id":"c2","model":"B"}]})");
    EXPECT_EQ(r.conflicts.size(), 1u);
    EXPECT_FALSE(r.conflicts[0].ours.has_value());
    EXPECT_EQ(content(r), R"({"cams": [{"id": "c2", "model": "B"}]})");
    // the same id added on both sides: merged as objects added on both sides
    expect_clean(merge("[]", R"([{"id":5,"a":1}])", R"([{"id":5,"b":2}])"), R"([{"id":5,"a":1,"b":2}])");
    r = merge("[]", R"([{"id":5,"a":1}])", R"([{"id":5,"a":2}])");
    EXPECT_EQ(conflicts(r), R"([{"kind": "add/add", "ours": 1, "path": [{"id": 5}, "a"], "theirs": 2}])");
    // numeric ids match by value
    expect_clean(merge(R"([{"id":1,"v":0}])", R"([{"id":1.0,"v":1}])", R"([{"id":1,"v":0},{"id":2}])"),
                 R"([{"id":1.0,"v":1},{"id":2}])");
}

TEST(JsonMerge, ByIdReordering) {
    const char* b = R"([{"id":1},{"id":2},{"id":3}])";
    // one side reorders: its order is kept, the other side's additions go after their
    // preceding element (4 followed 3)
    expect_clean(merge(b, R"([{"id":3},{"id":1},{"id":2}])", R"([{"id":1},{"id":2},{"id":3},{"id":4}])"),
                 R"([{"id":3},{"id":4},{"id":1},{"id":2}])");
    expect_clean(merge(b, R"([{"id":1},{"id":2},{"id":3},{"id":4}])", R"([{"id":3},{"id":1},{"id":2}])"),
                 R"([{"id":3},{"id":4},{"id":1},{"id":2}])");
    expect_clean(merge(b, R"([{"id":1},{"id":5},{"id":2},{"id":3}])", R"([{"id":2},{"id":1},{"id":6},{"id":3}])"),
                 R"([{"id":2},{"id":1},{"id":5},{"id":6},{"id":3}])");
    // both reorder the same way: clean
    expect_clean(merge(b, R"([{"id":3},{"id":2},{"id":1}])", R"([{"id":3},{"id":2},{"id":1}])"),
                 R"([{"id":3},{"id":2},{"id":1}])");
    // both reorder differently: an "order" conflict; content follows ours
    MergeResult r = merge(b, R"([{"id":3},{"id":1},{"id":2}])", R"([{"id":2},{"id":1},{"id":3}])");
    ASSERT_EQ(r.conflicts.size(), 1u);
    EXPECT_EQ(r.conflicts[0].kind, ce::json::ConflictKind::order);
    EXPECT_EQ(content(r), R"([{"id": 3}, {"id": 1}, {"id": 2}])");
}

TEST(JsonMerge, ArrayModeSelection) {
    // auto: a missing or duplicate id makes it a sequence merge
    const char* b = R"([{"id":1,"v":0},{"id":2,"v":0}])";
    MergeResult r = merge(b, R"([{"id":1,"v":0},{"id":2,"v":0},{"x":1}])", R"([{"id":1,"v":1},{"id":2,"v":0}])");
    expect_clean(r, R"([{"id":1,"v":1},{"id":2,"v":0},{"x":1}])");
    // by id, the same edits merge too
    expect_clean(merge(b, R"([{"id":1,"v":0},{"id":2,"v":0},{"id":3}])", R"([{"id":1,"v":1},{"id":2,"v":0}])", ArrayMode::by_id),
                 R"([{"id":1,"v":1},{"id":2,"v":0},{"id":3}])");
    // "id" mode: an array without usable ids is merged atomically
    r = merge("[1,2,3]", "[0,1,2,3]", "[1,2,3,4]", ArrayMode::by_id);
    EXPECT_EQ(conflicts(r), R"([{"base": [1, 2, 3], "kind": "modify/modify", "ours": [0, 1, 2, 3], "path": [], "theirs": [1, 2, 3, 4]}])");
    expect_clean(merge("[1,2,3]", "[0,1,2,3]", "[1,2,3,4]", ArrayMode::sequence), "[0,1,2,3,4]");
    expect_clean(merge("[1,2,3]", "[0,1,2,3]", "[1,2,3,4]"), "[0,1,2,3,4]");
    // atomic: one side's change wins, both changed is a conflict
    expect_clean(merge("[1,2]", "[1,2]", "[2,1]", ArrayMode::atomic), "[2,1]");
    r = merge(R"({"l":[1,2]})", R"({"l":[1,2,3]})", R"({"l":[0,1,2]})", ArrayMode::atomic);
    EXPECT_EQ(conflicts(r), R"([{"base": [1, 2], "kind": "modify/modify", "ours": [1, 2, 3], "path": ["l"], "theirs": [0, 1, 2]}])");
    // null ids and object ids are not usable ids
    r = merge(R"([{"id":null}])", R"([{"id":null},{"id":null,"a":1}])", R"([{"id":null},{"id":null,"b":1}])", ArrayMode::by_id);
    EXPECT_FALSE(r.clean);
}

// ---------------------------------------------------------------------------- sequences

TEST(JsonMerge, Sequences) {
    // both append: both kept, ours first
    expect_clean(merge(R"(["a","b"])", R"(["a","b","x"])", R"(["a","b","y"])"), R"(["a","b","x","y"])");
    // changes in different places
    expect_clean(merge("[1,2,3,4,5,6]", "[0,1,2,3,4,5,6]", "[1,2,3,4,5,6,7]"), "[0,1,2,3,4,5,6,7]");
    expect_clean(merge("[1,2,3,4,5,6]", "[1,20,3,4,5,6]", "[1,2,3,4,50,6]"), "[1,20,3,4,50,6]");
    expect_clean(merge("[1,2,3,4,5,6]", "[1,3,4,5,6]", "[1,2,3,4,5]"), "[1,3,4,5]");
    // adjacent changes of different elements merge
    expect_clean(merge("[1,2,3]", "[1,20,3]", "[1,2,30]"), "[1,20,30]");
    expect_clean(merge("[1,2,3]", "[2,3]", "[1,2,30]"), "[2,30]");
    // the same change on both sides is taken once
    expect_clean(merge("[1,2]", "[1,2,3]", "[1,2,3]"), "[1,2,3]");
    expect_clean(merge("[1,2,3]", "[1,3]", "[1,3,4]"), "[1,3,4]");
    // insertion before an element the other side changed
    expect_clean(merge("[1,2]", "[0,1,2]", "[10,2]"), "[0,10,2]");
    // appends stay ours first even when the last element was also changed
    expect_clean(merge(R"(["a","b","c","d"])", R"(["a","B","c","d","x"])", R"(["a","b","c","D","y"])"),
                 R"(["a","B","c","D","x","y"])");
    expect_clean(merge(R"([{"a":1}])", R"([{"a":2},{"new":1}])", R"([{"a":1,"b":5}])"), R"([{"a":2,"b":5},{"new":1}])");
}

TEST(JsonMerge, SequenceConflicts) {
    // one element changed differently on both sides: conflict at that index
    MergeResult r = merge("[1,2,3]", "[1,5,3]", "[1,6,3]");
    EXPECT_EQ(conflicts(r), R"([{"base": 2, "kind": "modify/modify", "ours": 5, "path": [1], "theirs": 6}])");
    EXPECT_EQ(content(r), "[1, 5, 3]");
    // objects without ids changed in place: merged field by field
    expect_clean(merge(R"([{"a":1,"b":1},{"a":2}])", R"([{"a":10,"b":1},{"a":2}])", R"([{"a":1,"b":10},{"a":2}])"),
                 R"([{"a":10,"b":10},{"a":2}])");
    // overlapping changes of different sizes: one conflict at the array, content = ours
    r = merge(R"({"l":[1,2,3,4]})", R"({"l":[1,4]})", R"({"l":[1,2,9,9,4]})");
    EXPECT_EQ(conflicts(r),
              R"([{"base": [1, 2, 3, 4], "kind": "sequence", "ours": [1, 4], "path": ["l"], "theirs": [1, 2, 9, 9, 4]}])");
    EXPECT_EQ(content(r), R"({"l": [1, 4]})");  // no half of theirs' replacement
    r = merge("[1,2,3]", "[1,3]", "[1,20,21,3]");
    EXPECT_EQ(content(r), "[1, 3]");
    EXPECT_EQ(r.conflicts.size(), 1u);
    // deleted by one side, changed by the other
    r = merge("[1,2,3]", "[1,3]", "[1,20,3]");
    ASSERT_EQ(r.conflicts.size(), 1u);
    EXPECT_EQ(r.conflicts[0].kind, ce::json::ConflictKind::sequence);
    EXPECT_EQ(content(r), "[1, 3]");
    // after an overlapping change, later elements still merge pairwise
    r = merge(R"([1,2,3,4,5,{"a":1,"b":1}])", R"([1,3,4,5,{"a":2,"b":1}])", R"([1,20,3,4,5,{"a":1,"b":2}])");
    EXPECT_EQ(content(r), R"([1, 3, 4, 5, {"a": 2, "b": 2}])");
    ASSERT_EQ(r.conflicts.size(), 1u);
    EXPECT_EQ(r.conflicts[0].kind, ce::json::ConflictKind::sequence);
    // other changes of the same array still merge around a conflict
    r = merge("[1,2,3,4,5,6,7]", "[0,1,2,30,4,5,6,7]", "[1,2,31,4,5,6,7,8]");
    EXPECT_EQ(content(r), "[0, 1, 2, 30, 4, 5, 6, 7, 8]");
    EXPECT_EQ(conflicts(r), R"([{"base": 3, "kind": "modify/modify", "ours": 30, "path": [3], "theirs": 31}])");
}

TEST(JsonMerge, ManyElementConflictsBecomeOne) {
    auto numbers = [](int n, int add) {
        std::vector<Value> v;
        for (int i = 0; i < n; ++i) v.push_back(Value::number(i + add));
        return Value::array(std::move(v));
    };
    // 50 elements changed differently on both sides: 50 conflicts at their indexes
    Value b = numbers(50, 0), o = numbers(50, 1000), t = numbers(50, 2000);
    MergeResult r = ce::json::merge3(&b, o, t, ArrayMode::sequence);
    ASSERT_EQ(r.conflicts.size(), 50u);
    EXPECT_EQ(to_string(ce::json::path_to_value(r.conflicts[49].path)), "[49]");
    // 500: one "sequence" conflict for the array; content is ours
    b = numbers(500, 0), o = numbers(500, 1000), t = numbers(500, 2000);
    r = ce::json::merge3(&b, o, t, ArrayMode::sequence);
    ASSERT_EQ(r.conflicts.size(), 1u);
    EXPECT_EQ(r.conflicts[0].kind, ce::json::ConflictKind::sequence);
    EXPECT_TRUE(r.conflicts[0].path.empty());
    EXPECT_TRUE(identical(r.content, o));
}

// ---------------------------------------------------------------------------- properties

namespace {

void check_properties(const Value& b, const Value& x, const Value& y, ArrayMode mode) {
    for (const auto& [r, what] : {std::make_pair(ce::json::merge3(&b, b, x, mode), "merge(b,b,x)"),
                                  std::make_pair(ce::json::merge3(&b, x, b, mode), "merge(b,x,b)"),
                                  std::make_pair(ce::json::merge3(&x, x, x, mode), "merge(x,x,x)"),
                                  std::make_pair(ce::json::merge3(&b, x, x, mode), "merge(b,x,x)"),
                                  std::make_pair(ce::json::merge3(nullptr, x, x, mode), "merge(-,x,x)")}) {
        ASSERT_TRUE(r.clean) << what << " b=" << to_string(b) << " x=" << to_string(x) << " " << conflicts(r);
        ASSERT_TRUE(identical(r.content, x)) << what << " b=" << to_string(b) << " x=" << to_string(x)
                                             << " got " << to_string(r.content);
    }
    MergeResult r1 = ce::json::merge3(&b, x, y, mode), r2 = ce::json::merge3(&b, x, y, mode);
    ASSERT_TRUE(identical(r1.content, r2.content));
    ASSERT_TRUE(identical(ce::json::conflicts_to_value(r1.conflicts), ce::json::conflicts_to_value(r2.conflicts)));
    ASSERT_EQ(r1.clean, r1.conflicts.empty());
    ASSERT_TRUE(identical(parse(to_string(r1.content)), r1.content));
}

}  // namespace

TEST(JsonMerge, PropertiesOnRandomDocuments) {
    std::mt19937 rng(20260507);
    std::vector<std::uint8_t> bytes(512);
    int clean = 0, runs = 0;
    for (ArrayMode mode : {ArrayMode::auto_, ArrayMode::by_id, ArrayMode::sequence, ArrayMode::atomic}) {
        for (int i = 0; i < 1500; ++i) {
            for (auto& byte : bytes) byte = static_cast<std::uint8_t>(rng());
            ce::json::testing::ByteSource src(bytes.data(), bytes.size());
            Value b = ce::json::testing::gen_value(src, 4);
            Value x = ce::json::testing::mutate(b, src);
            Value y = ce::json::testing::mutate(b, src);
            check_properties(b, x, y, mode);
            if (HasFatalFailure()) return;
            clean += ce::json::merge3(&b, x, y, mode).clean;
            ++runs;
        }
    }
    // The generator exercises both outcomes.
    EXPECT_GT(clean, runs / 10);
    EXPECT_LT(clean, runs);
}

// A clean merge contains every change of both sides (checked on examples).
TEST(JsonMerge, CleanMergeHasBothSidesChanges) {
    Value b = parse(R"({"title":"T","tags":["a","b"],"items":[{"id":1,"q":1},{"id":2,"q":1}],"meta":{"v":1}})");
    Value x = parse(R"({"title":"T2","tags":["a","b","c"],"items":[{"id":1,"q":2},{"id":2,"q":1}],"meta":{"v":1}})");
    Value y = parse(R"({"title":"T","tags":["z","a","b"],"items":[{"id":1,"q":1},{"id":3,"q":1}],"meta":{"v":1,"w":2}})");
    MergeResult r = ce::json::merge3(&b, x, y);
    ASSERT_TRUE(r.clean) << conflicts(r);
    const Value& c = r.content;
    EXPECT_EQ(*c.find("title"), parse("\"T2\""));                  // x's change
    EXPECT_EQ(*c.find("tags"), parse(R"(["z","a","b","c"])"));     // both
    EXPECT_EQ(*c.find("items"), parse(R"([{"id":1,"q":2},{"id":3,"q":1}])"));  // x's edit, y's delete and add
    EXPECT_EQ(*c.find("meta"), parse(R"({"v":1,"w":2})"));
}

// ---------------------------------------------------------------------------- diff

namespace {

std::size_t lcs_length(const std::vector<int>& a, const std::vector<int>& b) {
    std::vector<std::vector<std::size_t>> t(a.size() + 1, std::vector<std::size_t>(b.size() + 1, 0));
    for (std::size_t i = a.size(); i-- > 0;)
        for (std::size_t j = b.size(); j-- > 0;)
            t[i][j] = a[i] == b[j] ? t[i + 1][j + 1] + 1 : std::max(t[i + 1][j], t[i][j + 1]);
    return t[0][0];
}

void check_match(const std::vector<int>& a, const std::vector<int>& b, const std::vector<long>& m) {
    ASSERT_EQ(m.size(), a.size());
    long last = -1;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (m[i] < 0) continue;
        ASSERT_GT(m[i], last);
        ASSERT_LT(m[i], static_cast<long>(b.size()));
        ASSERT_EQ(a[i], b[static_cast<std::size_t>(m[i])]);
        last = m[i];
    }
}

std::size_t matched(const std::vector<long>& m) {
    return static_cast<std::size_t>(std::count_if(m.begin(), m.end(), [](long x) { return x >= 0; }));
}

}  // namespace

TEST(JsonDiff, FindsALongestCommonSubsequence) {
    std::mt19937 rng(7);
    for (int i = 0; i < 3000; ++i) {
        std::vector<int> a(rng() % 40), b(rng() % 40);
        const int alphabet = 1 + static_cast<int>(rng() % 6);
        for (int& x : a) x = static_cast<int>(rng() % alphabet);
        for (int& x : b) x = static_cast<int>(rng() % alphabet);
        std::vector<long> m = ce::json::diff_match(a, b);
        check_match(a, b, m);
        if (HasFatalFailure()) return;
        ASSERT_EQ(matched(m), lcs_length(a, b));
    }
    EXPECT_EQ(matched(ce::json::diff_match({}, {1, 2})), 0u);
    EXPECT_EQ(matched(ce::json::diff_match({1, 2, 3}, {1, 2, 3})), 3u);
    EXPECT_EQ(matched(ce::json::diff_match({1, 2, 3}, {4, 5})), 0u);
}

TEST(JsonDiff, LargeInputsStayValidAndFast) {
    // 200k elements with scattered edits: minimal; and two unrelated permutations
    // (huge edit distance): the cost limits keep it quick, the result stays valid.
    std::mt19937 rng(11);
    std::vector<int> a(200000);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int>(i);
    std::vector<int> b = a;
    for (int k = 0; k < 100; ++k) b[rng() % b.size()] = -1 - k;
    std::vector<long> m = ce::json::diff_match(a, b);
    check_match(a, b, m);
    EXPECT_EQ(matched(m), a.size() - 100);
    std::vector<int> c = a, d = a;
    std::shuffle(c.begin(), c.end(), rng);
    std::shuffle(d.begin(), d.end(), rng);
    m = ce::json::diff_match(c, d);
    check_match(c, d, m);
}

// ---------------------------------------------------------------------------- limits

TEST(JsonMerge, DeepDocumentsMerge) {
    std::string deep = std::string(ce::json::kMaxDepth - 1, '[') + "{\"a\":1}" + std::string(ce::json::kMaxDepth - 1, ']');
    std::string deep2 = std::string(ce::json::kMaxDepth - 1, '[') + "{\"a\":2}" + std::string(ce::json::kMaxDepth - 1, ']');
    std::string deep3 = std::string(ce::json::kMaxDepth - 1, '[') + "{\"a\":3}" + std::string(ce::json::kMaxDepth - 1, ']');
    MergeResult r = merge(deep.c_str(), deep2.c_str(), deep.c_str());
    expect_clean(r, deep2.c_str());
    r = merge(deep.c_str(), deep2.c_str(), deep3.c_str());
    EXPECT_EQ(r.conflicts.size(), 1u);
    EXPECT_EQ(r.conflicts[0].path.size(), ce::json::kMaxDepth);
    // A conflict on whole documents of the maximal depth can still be reported.
    r = merge(nullptr, deep2.c_str(), deep3.c_str(), ArrayMode::atomic);
    ASSERT_EQ(r.conflicts.size(), 1u);
    EXPECT_EQ(ce::json::conflicts_to_value(r.conflicts).depth(), ce::json::kMaxDepth + 2);
    // Inputs deeper than kMaxDepth (built in C++) are refused.
    Value deeper = Value::array({parse(deep)});
    EXPECT_CE_ERROR(ce::json::merge3(nullptr, deeper, deeper), Errc::limit_exceeded);
}

// Every conflict holds a copy of its path. Under a deep path of long keys, many
// conflicting leaves made those copies many times the documents' size, and no
// Budget saw them (a review took a backend to 2 GB with 1 MB documents and a 16 MB
// max_merge_memory): they are charged, and the merge stops at the Budget.
TEST(JsonMerge, ConflictPathsAreCharged) {
    auto doc = [](int v) {
        std::string key(1000, 'k'), s;
        for (int d = 0; d < 100; ++d) s += "{\"" + key + "\":";
        s += "{";
        for (int i = 0; i < 400; ++i) s += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(v);
        s += "}" + std::string(100, '}');
        return parse(s);
    };
    Value b = doc(0), o = doc(1), t = doc(2);
    const std::int64_t before = ce::memory::charged();
    {
        MergeResult r = ce::json::merge3(&b, o, t);  // no Budget: 400 conflicts, each path 100 keys of 1,000 bytes
        ASSERT_EQ(r.conflicts.size(), 400u);
        EXPECT_GT(ce::memory::charged() - before, 400 * 100 * 1000);  // the paths' keys alone: 40 MB
    }
    EXPECT_EQ(ce::memory::charged(), before);  // given back with the result
    ce::memory::Budget budget(8 << 20, "test");
    EXPECT_CE_ERROR(ce::json::merge3(&b, o, t), Errc::limit_exceeded);
    EXPECT_EQ(ce::memory::charged(), before);
}

// An array with more element conflicts than are listed reports one conflict; the
// charge of the dropped ones is given back (it stayed, counting memory no longer
// held: found by review).
TEST(JsonMerge, DroppedConflictsGiveBackTheirCharge) {
    auto doc = [](int v) {
        std::string s = "{\"a\": [";
        for (int i = 0; i < 150; ++i) s += (i ? ", {\"x\": " : "{\"x\": ") + std::to_string(v) + "}";
        return parse(s + "]}");
    };
    Value b = doc(0), o = doc(1), t = doc(2);
    MergeResult r = ce::json::merge3(&b, o, t, ArrayMode::sequence);
    ASSERT_EQ(r.conflicts.size(), 1u);
    EXPECT_EQ(r.conflicts[0].kind, ce::json::ConflictKind::sequence);
    std::size_t held = ce::memory::vector_bytes(r.conflicts.capacity(), sizeof(ce::json::Conflict));
    for (const ce::json::Conflict& c : r.conflicts) {
        held += ce::memory::vector_bytes(c.path.size(), sizeof(ce::json::PathStep));
        for (const ce::json::PathStep& s : c.path) held += ce::memory::string_bytes(s.key.size());
    }
    EXPECT_EQ(r.conflicts_charge.bytes(), held);
}

namespace {
int merge_hook_calls = 0;
void cancel_on_second_call() {
    if (++merge_hook_calls >= 2) throw ce::Error(Errc::canceled, "canceled by test");
}
}  // namespace

TEST(JsonMerge, ChecksInterrupts) {
    std::vector<Value> items, changed;
    for (int i = 0; i < 50000; ++i) items.push_back(Value::number(i));
    changed = items;
    changed.push_back(Value::string("x"));
    Value b = Value::array(items), x = Value::array(changed);
    std::vector<Value> other(items.rbegin(), items.rend());
    Value y = Value::array(other);
    merge_hook_calls = 0;
    auto old = ce::set_interrupt_hook(&cancel_on_second_call);
    EXPECT_CE_ERROR(ce::json::merge3(&b, x, y, ArrayMode::sequence), Errc::canceled);
    ce::set_interrupt_hook(old);
    EXPECT_GE(merge_hook_calls, 2);
    // Without the hook it completes: ours appended, theirs reversed the array.
    MergeResult r = ce::json::merge3(&b, x, y, ArrayMode::sequence);
    EXPECT_TRUE(r.clean);
    EXPECT_EQ(r.content.items().size(), 50001u);
}
