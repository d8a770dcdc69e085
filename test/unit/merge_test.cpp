// Unit tests of the merge engine's core (no server, no git): API contract, errors,
// conflict regions, resolution strategies, cancellation, the dtl backend.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "concurrent_edit/diff.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/lines.hpp"
#include "concurrent_edit/merge.hpp"
#include "test_util.hpp"

using ce::Errc;

TEST(Lines, SplitKeepsLineEndsAndALastLineWithoutNewline) {
    auto l = ce::split_lines("a\nb\r\n\nc");
    ASSERT_EQ(l.size(), 4u);
    EXPECT_EQ(l[0], "a\n");
    EXPECT_EQ(l[1], "b\r\n");
    EXPECT_EQ(l[2], "\n");
    EXPECT_EQ(l[3], "c");
    EXPECT_TRUE(ce::split_lines("").empty());
}

TEST(Lines, TooManyLinesIsALimitError) {
    std::string many(ce::kMaxLines + 1, '\n');  // refused after counting, before allocating
    EXPECT_CE_ERROR(ce::split_lines(many), Errc::limit_exceeded);
    EXPECT_CE_ERROR(ce::merge3("a\n", many, "b\n"), Errc::limit_exceeded);
}

TEST(Lines, InternerGivesEqualLinesEqualIds) {
    std::string a = "x\ny\nx\nx", b = "y\nx\n";
    ce::LineInterner in;
    auto ia = in.intern(ce::split_lines(a));
    auto ib = in.intern(ce::split_lines(b));
    EXPECT_EQ(ia, (std::vector<std::uint32_t>{0, 1, 0, 2}));  // final "x" differs from "x\n"
    EXPECT_EQ(ib, (std::vector<std::uint32_t>{1, 0}));
    EXPECT_EQ(in.size(), 3u);
    // Growing the table keeps ids stable.
    std::vector<std::string> many;
    for (int i = 0; i < 5000; ++i) many.push_back("line " + std::to_string(i) + "\n");
    std::vector<std::uint32_t> first;
    for (auto& s : many) first.push_back(in.intern(s));
    for (std::size_t i = 0; i < many.size(); ++i) EXPECT_EQ(in.intern(many[i]), first[i]);
}

TEST(Merge, ParseStyleAndFavor) {
    EXPECT_EQ(ce::parse_merge_style("merge"), ce::MergeStyle::merge);
    EXPECT_EQ(ce::parse_merge_style("diff3"), ce::MergeStyle::diff3);
    EXPECT_EQ(ce::parse_merge_style("zdiff3"), ce::MergeStyle::zdiff3);
    EXPECT_EQ(ce::parse_merge_favor("none"), ce::MergeFavor::none);
    EXPECT_EQ(ce::parse_merge_favor("ours"), ce::MergeFavor::ours);
    EXPECT_EQ(ce::parse_merge_favor("theirs"), ce::MergeFavor::theirs);
    EXPECT_EQ(ce::parse_merge_favor("union"), ce::MergeFavor::union_);
    EXPECT_CE_ERROR(ce::parse_merge_style("Merge"), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::parse_merge_favor(""), Errc::invalid_parameter);
    try {
        ce::parse_merge_favor("mine");
    } catch (const ce::Error& e) {
        EXPECT_EQ(e.hint(), "Valid favor modes are none, ours, theirs and union.");
    }
}

TEST(Merge, RejectsBadOptions) {
    ce::MergeOptions o;
    o.marker_size = 0;
    EXPECT_CE_ERROR(ce::merge3("a", "b", "c", o), Errc::invalid_parameter);
    o.marker_size = ce::kMaxMarkerSize + 1;
    EXPECT_CE_ERROR(ce::merge3("a", "b", "c", o), Errc::invalid_parameter);
    o.marker_size = ce::kMaxMarkerSize;
    EXPECT_NO_THROW(ce::merge3("a", "b", "c", o));
    o.theirs_label = "two\nlines";
    EXPECT_CE_ERROR(ce::merge3("a", "b", "c", o), Errc::invalid_parameter);
}

TEST(Merge, CleanAndConflictingMerges) {
    auto r = ce::merge3("1\n2\n3\n4\n5\n", "1\nA\n3\n4\n5\n", "1\n2\n3\n4\nB\n");
    EXPECT_TRUE(r.clean);
    EXPECT_EQ(r.conflicts, 0);
    EXPECT_EQ(r.content, "1\nA\n3\n4\nB\n");
    EXPECT_TRUE(r.regions.empty());

    r = ce::merge3("a\nb\nc\n", "a\nX\nc\n", "a\nY\nc\n");
    EXPECT_FALSE(r.clean);
    EXPECT_EQ(r.conflicts, 1);
    EXPECT_EQ(r.content, "a\n<<<<<<< ours\nX\n=======\nY\n>>>>>>> theirs\nc\n");
    ASSERT_EQ(r.regions.size(), 1u);
    const ce::ConflictRegion& g = r.regions[0];
    EXPECT_EQ(g.base_start, 2);
    EXPECT_EQ(g.base_count, 1);
    EXPECT_EQ(g.ours_start, 2);
    EXPECT_EQ(g.theirs_count, 1);
    EXPECT_EQ(g.base, "b\n");
    EXPECT_EQ(g.ours, "X\n");
    EXPECT_EQ(g.theirs, "Y\n");
}

TEST(Merge, FavorResolvesAndCountsWhatItResolved) {
    ce::MergeOptions o;
    o.favor = ce::MergeFavor::union_;
    // Two conflicts 4 lines apart (3 or fewer lines between them would join them).
    auto r = ce::merge3("a\nb\nc\nd\ne\nf\ng\n", "a\nX\nc\nd\ne\nf\nG1\n",
                        "a\nY\nc\nd\ne\nf\nG2\n", o);
    EXPECT_TRUE(r.clean);
    EXPECT_EQ(r.conflicts, 0);
    EXPECT_EQ(r.favored, 2);
    EXPECT_EQ(r.content, "a\nX\nY\nc\nd\ne\nf\nG1\nG2\n");
    o.favor = ce::MergeFavor::none;
    EXPECT_EQ(ce::merge3("a\nb\nc\nd\ne\nf\n", "a\nX\nc\nd\ne\nF1\n", "a\nY\nc\nd\ne\nF2\n", o)
                  .conflicts,
              1);  // joined across "c d e"
}

TEST(Merge, RefinedConflictReportsTheBaseRangeItReplaces) {
    // Both sides rewrite lines 2..4; they agree on A and C, differ in the middle.
    auto r = ce::merge3("1\n2\n3\n4\n5\n", "1\nA\nB\nC\n5\n", "1\nA\nZ\nC\n5\n");
    ASSERT_EQ(r.regions.size(), 1u);
    const ce::ConflictRegion& g = r.regions[0];
    EXPECT_EQ(g.ours, "B\n");
    EXPECT_EQ(g.theirs, "Z\n");
    EXPECT_EQ(g.ours_start, 3);
    EXPECT_EQ(g.theirs_start, 3);
    // The base lines that the two rewrites replaced.
    EXPECT_EQ(g.base_start, 2);
    EXPECT_EQ(g.base_count, 3);
    EXPECT_EQ(g.base, "2\n3\n4\n");
}

TEST(Merge, RegionsAreTheSameForMergeConflictRegions) {
    std::string b = "h\n1\n2\n3\n4\n5\n6\n7\n8\nt\n", o = "h\n1\nA\n3\n4\n5\n6\nC\n8\nt\n",
                t = "h\n1\nB\n3\n4\n5\n6\n7\nD\nt\n";
    auto regions = ce::merge_conflict_regions(b, o, t);
    ASSERT_EQ(regions.size(), 2u);
    EXPECT_EQ(regions[1].base, "7\n8\n");
    EXPECT_EQ(regions[1].ours, "C\n8\n");
    EXPECT_EQ(regions[1].theirs, "7\nD\n");
    EXPECT_EQ(ce::merge3(b, o, t).conflicts, 2);
}

TEST(Merge, IdentitiesHoldOnRandomTexts) {
    std::mt19937 rng(42);
    const char* alphabet[] = {"a\n", "b\n", "}\n", "\n", "x", "y\r\n"};
    auto text = [&](int n) {
        std::string s;
        for (int i = 0; i < n; ++i) s += alphabet[rng() % 6];
        return s;
    };
    for (int i = 0; i < 300; ++i) {
        std::string b = text(rng() % 30), x = text(rng() % 30);
        EXPECT_EQ(ce::merge3(b, b, x).content, x);
        EXPECT_EQ(ce::merge3(b, x, b).content, x);
        EXPECT_EQ(ce::merge3(x, x, x).content, x);
    }
}

TEST(Merge, LongMergeHonorsTheInterruptHook) {
    std::string base, ours, theirs;
    for (int i = 0; i < 200000; ++i) {
        base += std::to_string(i % 7) + "\n";
        ours += std::to_string(i % 5) + "\n";
        theirs += std::to_string(i % 3) + "\n";
    }
    EXPECT_CANCELED_BY_INTERRUPTS(ce::merge3(base, ours, theirs));
}

TEST(Resolve, Strategies) {
    const char *b = "a\nb\nc\n", *o = "a\nX\nc\n", *t = "a\nY\nc\n";
    auto r = ce::resolve("last-write-wins", b, o, t);
    EXPECT_EQ(r.content, t);
    EXPECT_TRUE(r.auto_resolved);
    r = ce::resolve("first-write-wins", b, o, t);
    EXPECT_EQ(r.content, o);
    r = ce::resolve("merge-with-markers", b, o, t);
    EXPECT_EQ(r.conflicts, 1);
    EXPECT_TRUE(r.manual_intervention_required);
    EXPECT_FALSE(r.auto_resolved);
    r = ce::resolve("smart-merge", b, o, t);
    EXPECT_EQ(r.strategy, "smart-merge-manual");
    r = ce::resolve("smart-merge", "1\n2\n3\n", "1\n2\n3\n4\n", "0\n1\n2\n3\n");
    EXPECT_EQ(r.strategy, "smart-merge-auto");
    EXPECT_EQ(r.content, "0\n1\n2\n3\n4\n");
    r = ce::resolve("keep-both", b, o, t);
    EXPECT_EQ(r.content, "a\nX\nY\nc\n");
    long long early = 1, late = 2;
    EXPECT_EQ(ce::resolve("timestamp", b, o, t, &late, &early).content, o);
    EXPECT_EQ(ce::resolve("timestamp", b, o, t, &early, &late).content, t);
    EXPECT_EQ(ce::resolve("timestamp", b, o, t, &early, &early).content, t);
    EXPECT_CE_ERROR(ce::resolve("timestamp", b, o, t, &early, nullptr), Errc::null_not_allowed);
    EXPECT_CE_ERROR(ce::resolve("coin-flip", b, o, t), Errc::invalid_parameter);
}

TEST(Diff, UnifiedDiffGroupsHunksLikeGit) {
    std::string a, b;
    for (int i = 1; i <= 20; ++i) {
        a += std::to_string(i) + "\n";
        b += (i == 3 || i == 10 || i == 11 ? "x" : "") + std::to_string(i) + "\n";
    }
    // Changes at 3 and 10 are 6 lines apart: one hunk with context 3, two with context 2.
    std::string d3 = ce::unified_diff(a, b, 3);
    std::string d2 = ce::unified_diff(a, b, 2);
    auto count = [](const std::string& s) {
        int n = 0;
        for (std::size_t p = 0; (p = s.find("\n@@ ", p)) != std::string::npos; ++p) ++n;
        return n;
    };
    EXPECT_EQ(count(d3), 1);
    EXPECT_EQ(count(d2), 2);
    EXPECT_EQ(d2.rfind("--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n 2\n-3\n+x3\n 4\n 5\n@@ -8,6 +8,6 @@\n", 0), 0u) << d2;
    EXPECT_EQ(ce::unified_diff("x\n", "x\n"), "");
    EXPECT_EQ(ce::unified_diff("", "a\n"), "--- a\n+++ b\n@@ -0,0 +1 @@\n+a\n");
    EXPECT_CE_ERROR(ce::unified_diff("a", "b", -1), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::unified_diff("a", "b", 3, "a\nb"), Errc::invalid_parameter);
}

TEST(Diff, DtlBackendProducesAValidEditScript) {
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        std::vector<std::uint32_t> a, b;
        for (int i = 0, n = rng() % 40; i < n; ++i) a.push_back(rng() % 5);
        for (int i = 0, n = rng() % 40; i < n; ++i) b.push_back(rng() % 5);
        for (auto alg : {ce::DiffAlgorithm::myers, ce::DiffAlgorithm::dtl_onp}) {
            auto script = ce::diff_ids(a.data(), a.size(), b.data(), b.size(), 5, alg);
            // Applying the script to a gives b.
            std::vector<std::uint32_t> out;
            std::size_t i = 0;
            for (const auto& c : script) {
                while (static_cast<long>(i) < c.old_start) out.push_back(a[i++]);
                for (long k = 0; k < c.new_count; ++k) out.push_back(b[c.new_start + k]);
                i += c.old_count;
            }
            while (i < a.size()) out.push_back(a[i++]);
            EXPECT_EQ(out, b);
        }
    }
}

TEST(Diff, StatCountsAddedAndRemovedLines) {
    ce::DiffStat s = ce::diff_stat("a\nb\nc\n", "a\nB\nc\nd\n");
    EXPECT_EQ(s.lines_added, 2);
    EXPECT_EQ(s.lines_removed, 1);
}

TEST(Merge, ManyConflictsInALargeFileStayLinear) {
    // 20,000 conflicts in a 200,000-line file: each refinement diff must cost in
    // proportion to its conflict, not to the whole file.
    std::string base, ours, theirs;
    for (int i = 0; i < 200000; ++i) {
        std::string l = "line " + std::to_string(i) + "\n";
        base += l;
        ours += i % 10 == 5 ? "ours " + l : l;
        theirs += i % 10 == 5 ? "theirs " + l : l;
    }
    auto r = ce::merge3(base, ours, theirs);
    EXPECT_EQ(r.conflicts, 20000);
    EXPECT_EQ(r.regions[19999].base, "line 199995\n");
}

// concurrent_edit.diff_algorithm = dtl: the merge built on dtl's O(NP) edit scripts
// agrees with the default core wherever the shortest edit script is unique.
TEST(MergeDtlCore, SeedScenariosAgreeWithDefaultCore) {
    ce::MergeOptions dtl;
    dtl.algorithm = ce::DiffAlgorithm::dtl_onp;
    const char* base = "Line 1\nLine 2\nLine 3\nLine 4\nLine 5\n";
    struct Case {
        const char* ours;
        const char* theirs;
    } cases[] = {
        {"Line 1\nLine 2A\nLine 3\nLine 4\nLine 5\n", "Line 1\nLine 2\nLine 3\nLine 4B\nLine 5\n"},  // merges
        {"Line 1\nLine 2A\nLine 3\nLine 4\nLine 5\n", "Line 1\nLine 2B\nLine 3\nLine 4\nLine 5\n"},  // conflict
        {"Line 1\nLine 2\nLine 3A\nLine 4\nLine 5\n", "Line 1\nNew\nLine 2\nLine 3\nLine 4\nLine 5\n"},  // insert above
    };
    for (const auto& c : cases) {
        ce::MergeResult a = ce::merge3(base, c.ours, c.theirs);
        ce::MergeResult b = ce::merge3(base, c.ours, c.theirs, dtl);
        EXPECT_EQ(a.content, b.content);
        EXPECT_EQ(a.clean, b.clean);
        EXPECT_EQ(a.conflicts, b.conflicts);
    }
    EXPECT_EQ(ce::unified_diff("a\nb\nc\n", "a\nB\nc\n", 3, "a", "b", ce::DiffAlgorithm::dtl_onp),
              ce::unified_diff("a\nb\nc\n", "a\nB\nc\n"));
}

// Per-hunk choices settle each conflict region as git's --ours / --theirs /
// --union would, or with the base's lines or a given text; regions without a
// choice keep their markers.
TEST(Merge, HunkChoicesSettleEachRegion) {
    const std::string base = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n";
    const std::string ours = "a\nB1\nc\nd\ne\nf\ng\nh\ni\nj\nK1\nl\n";
    const std::string theirs = "a\nB2\nc\nd\ne\nf\ng\nh\ni\nj\nK2\nl\n";
    ASSERT_EQ(ce::merge_conflict_regions(base, ours, theirs).size(), 2u);
    using K = ce::HunkChoice::Kind;
    auto settle = [&](std::vector<ce::HunkChoice> choices) {
        ce::MergeOptions o;
        o.hunks = &choices;
        return ce::merge3(base, ours, theirs, o);
    };
    auto all = [&](K k) { return settle({{k, {}}, {k, {}}}); };
    EXPECT_EQ(all(K::ours).content, ours);
    EXPECT_EQ(all(K::theirs).content, theirs);
    EXPECT_EQ(all(K::base).content, base);
    EXPECT_EQ(all(K::union_).content, "a\nB1\nB2\nc\nd\ne\nf\ng\nh\ni\nj\nK1\nK2\nl\n");
    // The same as favor ours / theirs / union.
    for (auto [k, f] : {std::pair{K::ours, ce::MergeFavor::ours}, std::pair{K::theirs, ce::MergeFavor::theirs},
                        std::pair{K::union_, ce::MergeFavor::union_}}) {
        ce::MergeOptions o;
        o.favor = f;
        EXPECT_EQ(all(k).content, ce::merge3(base, ours, theirs, o).content);
    }
    ce::MergeResult mixed = settle({{K::theirs, {}}, {K::text, "K both"}});
    EXPECT_TRUE(mixed.clean);
    EXPECT_EQ(mixed.favored, 2);
    EXPECT_EQ(mixed.content, "a\nB2\nc\nd\ne\nf\ng\nh\ni\nj\nK both\nl\n");
    // Only the first region chosen: the second keeps its markers and counts.
    ce::MergeResult partial = settle({{K::ours, {}}});
    EXPECT_EQ(partial.conflicts, 1);
    EXPECT_EQ(partial.regions.size(), 1u);
    EXPECT_EQ(partial.regions[0].ours, "K1\n");
    EXPECT_NE(partial.content.find("<<<<<<< ours\nK1\n=======\nK2\n>>>>>>> theirs\n"), std::string::npos);
    EXPECT_EQ(partial.content.rfind("a\nB1\n", 0), 0u);
    EXPECT_EQ(ce::parse_hunk_choice("base"), K::base);
    EXPECT_CE_ERROR(ce::parse_hunk_choice("mine"), Errc::invalid_parameter);
}

namespace {

// Checks MergeResult::changes against the texts: in text order, within the texts.
// Without conflicts: the lines between two changes are the base's, as many in
// content as in base; a one-sided or identical change's content lines are that
// side's (a missing final newline aside).
void expect_changes_describe(const std::string& b, const std::string& o, const std::string& t,
                             const ce::MergeResult& r) {
    auto base = ce::split_lines(b), ours = ce::split_lines(o), theirs = ce::split_lines(t),
         out = ce::split_lines(r.content);
    auto line = [](std::string_view l) { return l.substr(0, l.size() - (!l.empty() && l.back() == '\n')); };
    const bool exact = r.clean && r.favored == 0;
    long bi = 0, mi = 0, oi = 0, ti = 0;  // next base, content, ours, theirs lines after the previous change
    for (const ce::MergeChange& c : r.changes) {
        long bs = c.base_start - 1, ms = c.merged_start - 1;
        ASSERT_GE(ms, mi);
        ASSERT_GE(c.ours_start - 1, oi);
        ASSERT_GE(c.theirs_start - 1, ti);
        ASSERT_LE(c.ours_start - 1 + c.ours_count, static_cast<long>(ours.size()));
        ASSERT_LE(c.theirs_start - 1 + c.theirs_count, static_cast<long>(theirs.size()));
        ASSERT_LE(bs + c.base_count, static_cast<long>(base.size()));
        oi = c.ours_start - 1 + c.ours_count;
        ti = c.theirs_start - 1 + c.theirs_count;
        if (!exact) {
            mi = ms + c.merged_count;
            ASSERT_LE(mi, static_cast<long>(out.size()));
            continue;
        }
        ASSERT_GE(bs, bi);
        ASSERT_EQ(ms - mi, bs - bi) << "unchanged lines between changes";
        for (long k = 0; k < bs - bi; ++k) ASSERT_EQ(line(out[mi + k]), line(base[bi + k]));
        ASSERT_LE(ms + c.merged_count, static_cast<long>(out.size()));
        const std::vector<std::string_view>* side = c.side == ce::MergeChange::Side::theirs ? &theirs
                                                    : c.side == ce::MergeChange::Side::both ? nullptr
                                                                                             : &ours;
        if (side != nullptr) {
            long s = (side == &ours ? c.ours_start : c.theirs_start) - 1;
            ASSERT_EQ(c.merged_count, side == &ours ? c.ours_count : c.theirs_count);
            for (long k = 0; k < c.merged_count; ++k) ASSERT_EQ(line(out[ms + k]), line((*side)[s + k]));
        }
        bi = bs + c.base_count;
        mi = ms + c.merged_count;
    }
    if (exact) {
        ASSERT_EQ(static_cast<long>(out.size()) - mi, static_cast<long>(base.size()) - bi);
    }
}

}  // namespace

TEST(Merge, ChangesListEveryRegionASideChanged) {
    // Ours changes line 2, both insert X after line 4, theirs deletes line 6.
    const std::string b = "1\n2\n3\n4\n5\n6\n7\n", o = "1\nTWO\n3\n4\nX\n5\n6\n7\n", t = "1\n2\n3\n4\nX\n5\n7\n";
    ce::MergeResult r = ce::merge3(b, o, t);
    ASSERT_TRUE(r.clean);
    EXPECT_EQ(r.content, "1\nTWO\n3\n4\nX\n5\n7\n");
    using S = ce::MergeChange::Side;
    ASSERT_EQ(r.changes.size(), 3u);
    auto is = [](const ce::MergeChange& c, S side, std::vector<int> v) {
        EXPECT_EQ(c.side, side);
        EXPECT_EQ((std::vector<int>{c.base_start, c.base_count, c.ours_start, c.ours_count, c.theirs_start,
                                    c.theirs_count, c.merged_start, c.merged_count}),
                  v);
    };
    is(r.changes[0], S::ours, {2, 1, 2, 1, 2, 1, 2, 1});
    is(r.changes[1], S::same, {5, 0, 5, 1, 5, 1, 5, 1});
    is(r.changes[2], S::theirs, {6, 1, 7, 1, 7, 0, 7, 0});
    expect_changes_describe(b, o, t, r);
    // One side unchanged: the other side's edit script.
    ce::MergeResult one = ce::merge3(b, b, t);
    ASSERT_EQ(one.changes.size(), 2u);
    is(one.changes[1], S::theirs, {6, 1, 6, 1, 7, 0, 7, 0});
    // A conflict region (markers): side both, its lines in content markers included.
    ce::MergeResult c = ce::merge3("a\nb\nc\n", "a\nX\nc\n", "a\nY\nc\n");
    ASSERT_EQ(c.changes.size(), 1u);
    is(c.changes[0], S::both, {2, 1, 2, 1, 2, 1, 2, 5});
}

TEST(Merge, ChangesDescribeRandomMerges) {
    std::mt19937 rng(7);
    const char* alphabet[] = {"a\n", "b\n", "c\n", "}\n", "\n", "d"};
    auto text = [&](int n) {
        std::string s;
        for (int i = 0; i < n; ++i) s += alphabet[rng() % 6];
        return s;
    };
    auto edit = [&](const std::string& b) {
        auto lines = ce::split_lines(b);
        std::string s;
        for (std::string_view l : lines) {
            unsigned k = rng() % 8;
            if (k == 0) continue;                      // delete
            if (k == 1) s += alphabet[rng() % 5];       // insert before
            s += k == 2 ? std::string(alphabet[rng() % 5]) : std::string(l);  // replace or keep
        }
        return s;
    };
    int checked = 0, exact = 0;
    for (int i = 0; i < 2000; ++i) {
        std::string b = text(rng() % 40), o = edit(b), t = edit(b);
        for (int opt = 0; opt < 12; ++opt) {
            ce::MergeOptions mo;
            mo.style = static_cast<ce::MergeStyle>(opt % 3);
            mo.favor = static_cast<ce::MergeFavor>(opt / 3);
            ce::MergeResult r = ce::merge3(b, o, t, mo);
            expect_changes_describe(b, o, t, r);
            if (HasFatalFailure()) {
                ADD_FAILURE() << "base:\n" << b << "\nours:\n" << o << "\ntheirs:\n" << t << "\noption " << opt;
                return;
            }
            ++checked;
            exact += r.clean && r.favored == 0 && o != b && t != b;
        }
    }
    EXPECT_EQ(checked, 24000);
    EXPECT_GT(exact, 1000);  // merges of two real edits without conflicts among them
}
