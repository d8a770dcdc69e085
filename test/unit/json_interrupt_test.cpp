// JSON values, merge and cancellation: reading numbers of many digits, merging large
// arrays by id and listing many conflicts check for interrupts while they work, so
// that a cancel or a statement_timeout is honoured within milliseconds (jsonb_merge3
// of 20,000 numbers 1e131071 went 4.3 s without a check and ended with 54000 instead
// of 57014 under a 1 s statement_timeout). The longest interval of CPU time between
// two checks is measured on inputs where an unchecked step took hundreds of ms.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/json.hpp"
#include "concurrent_edit/json_merge.hpp"
#include "interrupt_gap.hpp"
#include "test_util.hpp"

using ce::json::ArrayMode;
using ce::json::Member;
using ce::json::Value;
using ce_test::measure_gaps;

namespace {

constexpr double kMaxGap = 0.05;

// numeric_out's text of 1e131071: a 1 and 131,071 zeros.
const std::string& big_number() {
    static const std::string text = "1" + std::string(131071, '0');
    return text;
}

// Values as the SQL glue reads a jsonb array: a check every 4096 elements.
std::vector<Value> read_numbers(std::size_t n, const std::string& text) {
    std::vector<Value> items;
    ce::InterruptTicker glue(4096);
    for (std::size_t i = 0; i < n; ++i) {
        glue.tick();
        items.push_back(Value::number(text));
    }
    return items;
}

Value element(long long id, long long v) {
    return Value::object({Member{"id", Value::number(id)}, Member{"v", Value::number(v)}});
}

}  // namespace

TEST(JsonInterrupts, NumbersOfManyDigitsAreReadWithChecks) {
    std::vector<Value> items;
    EXPECT_LT(measure_gaps("600 numbers 1e131071", [&] { items = read_numbers(600, big_number()); }).longest, kMaxGap);
    // One number of 16 MB digits (the text parser takes any length).
    const std::string huge = "1" + std::string(16 << 20, '0') + "e-3";
    EXPECT_LT(measure_gaps("a number of 16 MB", [&] { Value::number(huge); }).longest, kMaxGap);
    // And merged: the base, one appended on ours, one prepended on theirs.
    const Value base = Value::array(items);
    std::vector<Value> o = items, t = items;
    o.push_back(Value::number(1));
    t.insert(t.begin(), Value::number(2));
    const Value ours = Value::array(o), theirs = Value::array(t);
    ce::json::MergeResult r;
    EXPECT_LT(measure_gaps("merge3 of 600 numbers 1e131071", [&] { r = ce::json::merge3(&base, ours, theirs); }).longest,
              kMaxGap);
    EXPECT_TRUE(r.clean);
    EXPECT_EQ(r.content.items().size(), 602u);
}

TEST(JsonInterrupts, MergeByIdChecksThroughout) {
    std::vector<Value> b, o, t;
    const long long n = 120000;
    for (long long i = 0; i < n; ++i) {
        b.push_back(element(i, 0));
        o.push_back(element(i, i == 5 ? 1 : 0));
        t.push_back(element(n - 1 - i, 0));  // theirs reversed the order
    }
    t.push_back(element(-1, 0));
    const Value base = Value::array(std::move(b)), ours = Value::array(std::move(o)), theirs = Value::array(std::move(t));
    ce::json::MergeResult r;
    EXPECT_LT(measure_gaps("merge3 by id, 120k elements", [&] { r = ce::json::merge3(&base, ours, theirs, ArrayMode::by_id); })
                  .longest,
              kMaxGap);
    EXPECT_TRUE(r.clean);
    EXPECT_EQ(r.content.items().size(), static_cast<std::size_t>(n + 1));
}

TEST(JsonInterrupts, ManyConflictsAreListedWithChecks) {
    std::vector<Member> b, o, t;
    for (int i = 0; i < 100000; ++i) {
        const std::string key = "k" + std::to_string(i);
        b.push_back({key, Value::number(0LL)});
        o.push_back({key, Value::number(1LL)});
        t.push_back({key, Value::number(2LL)});
    }
    const Value base = Value::object(std::move(b)), ours = Value::object(std::move(o)), theirs = Value::object(std::move(t));
    ce::json::MergeResult r = ce::json::merge3(&base, ours, theirs);
    ASSERT_EQ(r.conflicts.size(), 100000u);
    Value listed;
    EXPECT_LT(measure_gaps("conflicts_to_value, 100k conflicts", [&] { listed = ce::json::conflicts_to_value(r.conflicts); })
                  .longest,
              kMaxGap);
    EXPECT_EQ(listed.items().size(), 100000u);
}
