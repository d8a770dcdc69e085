// Memory accounting (ce::memory) of the JSON values, line diffs and merges, and the
// Budget that bounds one operation.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "concurrent_edit/diff.hpp"
#include "concurrent_edit/json.hpp"
#include "concurrent_edit/json_merge.hpp"
#include "concurrent_edit/memory.hpp"
#include "concurrent_edit/merge.hpp"
#include "test_util.hpp"

using ce::Errc;
namespace memory = ce::memory;

namespace {

std::string json_array(int n) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::string(R"({"id": )") + std::to_string(i) + R"(, "v": "x"})";
    return s + "]";
}

std::string lines(int n, const char* tag) {
    std::string s;
    for (int i = 0; i < n; ++i) s += std::string(tag) + " line " + std::to_string(i) + "\n";
    return s;
}

}  // namespace

TEST(Memory, ValuesChargeWhileAliveAndReleaseAll) {
    const std::int64_t before = memory::charged();
    {
        ce::json::Value v = ce::json::parse(json_array(10000));
        // 10,000 objects of two members and two scalars: at least 80 bytes a node.
        EXPECT_GT(memory::charged() - before, 10000 * 3 * 80);
        EXPECT_LT(memory::charged() - before, 10000 * 600);
    }
    EXPECT_EQ(memory::charged(), before);
}

TEST(Memory, BudgetStopsAParseAndUnwindsCleanly) {
    const std::int64_t before = memory::charged();
    {
        memory::Budget budget(1 << 20, "test.limit");
        try {
            ce::json::parse(json_array(100000));
            ADD_FAILURE() << "a 100,000-element document fit in 1 MB";
        } catch (const ce::Error& e) {
            EXPECT_EQ(e.code(), Errc::limit_exceeded);
            EXPECT_NE(std::string(e.what()).find("test.limit"), std::string::npos);
            EXPECT_NE(e.detail().find("\"limit_kb\": 1024"), std::string::npos) << e.detail();
        }
        EXPECT_LE(budget.peak(), std::size_t(1) << 20);
    }
    EXPECT_EQ(memory::charged(), before);
    // Without the budget the same parse succeeds.
    EXPECT_EQ(ce::json::parse(json_array(100000)).items().size(), 100000u);
}

TEST(Memory, NestedBudgetsTheTightestApplies) {
    memory::Budget outer(64 << 20, "outer");
    {
        memory::Budget inner(1 << 20, "inner");
        try {
            ce::json::parse(json_array(50000));
            ADD_FAILURE() << "inner budget not applied";
        } catch (const ce::Error& e) {
            EXPECT_NE(std::string(e.what()).find("inner"), std::string::npos);
        }
    }
    EXPECT_EQ(ce::json::parse(json_array(50000)).items().size(), 50000u);
    EXPECT_GT(outer.peak(), std::size_t(1) << 20);
}

TEST(Memory, JsonMergeIsBoundedAndSharesItsInputs) {
    const std::string text = json_array(20000);
    const ce::json::Value base = ce::json::parse(text);
    const ce::json::Interner interner(base);
    ce::json::ParseOptions options;
    options.interner = &interner;
    std::string changed = text;
    changed.replace(changed.find(R"("v": "x")"), 8, R"("v": "y")");
    const std::int64_t before = memory::charged();
    const ce::json::Value ours = ce::json::parse(changed, options);
    // Ours shares all but one element with base: its array, one object and one string.
    EXPECT_LT(memory::charged() - before, 20000 * 16 + 4096);
    std::string changed2 = text;
    changed2.replace(changed2.rfind(R"("v": "x")"), 8, R"("v": "z")");
    const ce::json::Value theirs = ce::json::parse(changed2, options);
    {
        memory::Budget budget(32 << 20, "test.limit");
        const ce::json::MergeResult r = ce::json::merge3(&base, ours, theirs, ce::json::ArrayMode::sequence);
        EXPECT_TRUE(r.clean);
        EXPECT_GT(budget.peak(), 0u);
    }
    memory::Budget tight(64 << 10, "test.limit");
    EXPECT_CE_ERROR(ce::json::merge3(&base, ours, ce::json::parse(json_array(20001)), ce::json::ArrayMode::sequence),
                    Errc::limit_exceeded);
}

TEST(Memory, TextMergeAndDiffAreBounded) {
    const std::string base = lines(100000, "b"), ours = lines(100000, "o"), theirs = lines(100000, "t");
    const std::int64_t before = memory::charged();
    {
        memory::Budget budget(1 << 20, "test.limit");
        EXPECT_CE_ERROR(ce::merge3(base, ours, theirs, ce::MergeOptions{}), Errc::limit_exceeded);
        EXPECT_CE_ERROR(ce::unified_diff(base, ours), Errc::limit_exceeded);
        EXPECT_CE_ERROR(ce::diff_stat(base, ours), Errc::limit_exceeded);
    }
    EXPECT_EQ(memory::charged(), before);
    memory::Budget budget(256 << 20, "test.limit");
    ce::MergeResult r = ce::merge3(base, base + "x\n", base, ce::MergeOptions{});
    EXPECT_TRUE(r.clean);
    // Three texts of 100,000 lines: views, ids, the interner, two diffs and the result.
    EXPECT_GT(budget.peak(), std::size_t(300000) * 20);
    EXPECT_LT(budget.peak(), std::size_t(300000) * 200);
}

TEST(Memory, HeadroomIsWhatTheTightestBudgetStillAllows) {
    EXPECT_EQ(memory::headroom(), SIZE_MAX);  // no budget
    memory::Budget outer(1000, "test.outer");
    EXPECT_EQ(memory::headroom(), 1000u);
    memory::Charge used(400);
    EXPECT_EQ(memory::headroom(), 600u);
    {
        memory::Budget inner(2000, "test.inner");  // looser: the outer one still bounds
        EXPECT_EQ(memory::headroom(), 600u);
        memory::Budget tight(100, "test.tight");
        EXPECT_EQ(memory::headroom(), 100u);
    }
    EXPECT_EQ(memory::headroom(), 600u);
    EXPECT_THROW(memory::charge(601), ce::Error);
}

namespace {
std::vector<std::size_t> ended;
void record_end(std::size_t peak) noexcept { ended.push_back(peak); }
}  // namespace

// The glue gives a large operation's memory back when its outermost Budget ends.
TEST(Memory, EndHookSeesOnlyTheOutermostBudgetWithItsPeak) {
    auto old = ce::memory::set_budget_end_hook(&record_end);
    ended.clear();
    {
        ce::memory::Budget outer(1 << 20, "outer");
        {
            ce::memory::Budget inner(1 << 20, "inner");
            ce::memory::Charge c(4096);
        }
        EXPECT_TRUE(ended.empty());
        ce::memory::Charge c(10000);
    }
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0], 10000u);
    ce::memory::set_budget_end_hook(old);
}
