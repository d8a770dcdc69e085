// xdiff-compatible line diff. The algorithms follow the published descriptions of
// git's xdiff (Myers' O(ND) with a middle snake and cost cut-offs, record cleanup,
// change compaction); the code is our own.
#include "concurrent_edit/diff.hpp"

#include <algorithm>
#include <limits>
#include <memory>

#include <dtl/dtl.hpp>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/lines.hpp"
#include "concurrent_edit/memory.hpp"

namespace ce {

namespace {

constexpr long kMaxCostMin = 256;     // lower bound of the cost cut-off
constexpr long kHeurMinCost = 256;    // cost above which a good snake may end the search
constexpr long kSnakeCount = 20;      // length of a "good" snake
constexpr long kHeurFactor = 4;
constexpr long kMaxEqLimit = 1024;    // cap on "has many matches"
constexpr long kSimScanWindow = 100;  // window of the multi-match run scan
constexpr long kDiscardRun = 4;
constexpr long kLineMax = std::numeric_limits<long>::max();

// Integer square root approximation used by xdiff for its limits.
long bogosqrt(long n) {
    long i = 1;
    for (; n > 0; n >>= 2) i <<= 1;
    return i;
}

// One file of a diff: its ids, which lines are changed, and the reduced sequence
// (lines kept for the O(ND) core) with the map back to line indexes.
struct File {
    const std::uint32_t* ids = nullptr;
    long n = 0;
    std::vector<char> changed_storage;  // n + 2 entries; changed[-1] and changed[n] are 0
    char* changed = nullptr;
    std::vector<std::uint32_t> reduced;  // ids of kept lines
    std::vector<long> index;             // reduced position -> line index

    void init(const std::uint32_t* p, long count) {
        ids = p;
        n = count;
        changed_storage.assign(static_cast<std::size_t>(count) + 2, 0);
        changed = changed_storage.data() + 1;
    }
};

// Should a line with many matches (dis == 2) be set aside? Only when it sits in a
// run of lines that mostly have no match at all (dis == 0): the run around it, cut
// at the first line with a few matches (dis == 1) and at kSimScanWindow lines on
// each side, must hold no-match lines on both sides, and more than three no-match
// lines per many-match line. The scan is answered in O(1) per line from prefix
// counts (a direct scan costs 2 * kSimScanWindow steps per line on repetitive text).
class MultiMatchRuns {
public:
    MultiMatchRuns(const std::vector<char>& dis, long start, long end)
        : dis_(dis), start_(start), end_(end) {
        std::size_t len = static_cast<std::size_t>(std::max(0L, end - start + 1));
        zeros_.assign(len + 1, 0);
        next_one_.assign(len, end + 1);
        for (long i = start; i <= end; ++i)
            zeros_[i - start + 1] = zeros_[i - start] + (at(i) == 0 ? 1 : 0);
        long next = end + 1;
        for (long i = end; i >= start; --i) {
            next_one_[i - start] = next;
            if (at(i) == 1) next = i;
        }
        last_one_ = start - 1;
    }

    // Must be called for increasing i (it tracks the last dis == 1 line seen).
    bool discard(long i) {
        long lo = std::max({start_, i - kSimScanWindow, last_one_ + 1});
        long none_before = zeros(lo, i);
        if (none_before == 0) return false;
        long hi = std::min({end_, i + kSimScanWindow, next_one_[i - start_] - 1});
        long none_after = zeros(i + 1, hi + 1);
        if (none_after == 0) return false;
        long multi = 2 + ((i - lo) - none_before) + ((hi - i) - none_after);
        long none = none_before + none_after;
        return multi * kDiscardRun < multi + none;
    }
    void seen(long i) {
        if (at(i) == 1) last_one_ = i;
    }

private:
    char at(long i) const { return dis_[static_cast<std::size_t>(i)]; }
    long zeros(long from, long to) const {  // no-match lines in [from, to)
        return from >= to ? 0 : zeros_[to - start_] - zeros_[from - start_];
    }
    const std::vector<char>& dis_;
    long start_, end_;
    std::vector<std::int32_t> zeros_;
    std::vector<long> next_one_;
    long last_one_;
};

// Trims the common ends, then sets aside lines without a match on the other side.
void prepare(File& f1, File& f2, std::size_t id_count, InterruptTicker& ticker) {
    long lim = std::min(f1.n, f2.n);
    long start = 0;
    while (start < lim && f1.ids[start] == f2.ids[start]) ++start;
    long tail = 0;
    while (tail < lim - start && f1.ids[f1.n - 1 - tail] == f2.ids[f2.n - 1 - tail]) ++tail;
    long end1 = f1.n - tail - 1, end2 = f2.n - tail - 1;
    ticker.tick(static_cast<std::size_t>(start + tail));

    // Occurrences of each id in each whole file (capped: only "none, some, many" matter).
    std::vector<std::uint32_t> counts(2 * id_count, 0);
    std::uint32_t* count1 = counts.data();
    std::uint32_t* count2 = counts.data() + id_count;
    for (long i = 0; i < f1.n; ++i) ++count1[f1.ids[i]];
    for (long i = 0; i < f2.n; ++i) ++count2[f2.ids[i]];
    ticker.tick(static_cast<std::size_t>(f1.n + f2.n));

    auto reduce = [&](File& f, long end, const std::uint32_t* other_count) {
        long mlim = std::min(bogosqrt(f.n), kMaxEqLimit);
        std::vector<char> dis(static_cast<std::size_t>(f.n) + 1, 0);
        for (long i = start; i <= end; ++i) {
            long nm = other_count[f.ids[i]];
            dis[static_cast<std::size_t>(i)] = nm == 0 ? 0 : nm >= mlim ? 2 : 1;
        }
        f.reduced.clear();
        f.index.clear();
        f.reduced.reserve(static_cast<std::size_t>(std::max(0L, end - start + 1)));
        f.index.reserve(f.reduced.capacity());
        MultiMatchRuns runs(dis, start, end);
        for (long i = start; i <= end; ++i) {
            char d = dis[static_cast<std::size_t>(i)];
            if (d == 1 || (d == 2 && !runs.discard(i))) {
                f.index.push_back(i);
                f.reduced.push_back(f.ids[i]);
            } else {
                f.changed[i] = 1;
            }
            runs.seen(i);
            ticker.tick();
        }
    };
    reduce(f1, end1, count2);
    reduce(f2, end2, count1);
}

// Myers' O(ND) algorithm on the reduced sequences, divide and conquer around a
// middle snake, with xdiff's cost cut-offs (need_min = false at the top).
class Myers {
public:
    Myers(File& f1, File& f2, InterruptTicker& ticker) : f1_(f1), f2_(f2), ticker_(ticker) {
        long n1 = static_cast<long>(f1.reduced.size()), n2 = static_cast<long>(f2.reduced.size());
        long ndiags = n1 + n2 + 3;
        // Left uninitialized on purpose: split() writes every entry before reading it,
        // so only the diagonals actually explored are ever touched.
        kv_.reset(new long[static_cast<std::size_t>(2 * ndiags + 2)]);
        kvdf_ = kv_.get() + n2 + 1;
        kvdb_ = kv_.get() + ndiags + n2 + 1;
        mxcost_ = std::max(bogosqrt(ndiags), kMaxCostMin);
        h1_ = f1.reduced.data();
        h2_ = f2.reduced.data();
    }

    void run() {
        struct Box {
            long off1, lim1, off2, lim2;
            bool need_min;
        };
        std::vector<Box> stack;
        stack.push_back({0, static_cast<long>(f1_.reduced.size()), 0,
                         static_cast<long>(f2_.reduced.size()), false});
        while (!stack.empty()) {
            Box b = stack.back();
            stack.pop_back();
            // Shrink the box along the diagonal snakes at both corners.
            while (b.off1 < b.lim1 && b.off2 < b.lim2 && h1_[b.off1] == h2_[b.off2]) ++b.off1, ++b.off2;
            while (b.off1 < b.lim1 && b.off2 < b.lim2 && h1_[b.lim1 - 1] == h2_[b.lim2 - 1])
                --b.lim1, --b.lim2;
            if (b.off1 == b.lim1) {
                for (long i = b.off2; i < b.lim2; ++i) f2_.changed[f2_.index[i]] = 1;
            } else if (b.off2 == b.lim2) {
                for (long i = b.off1; i < b.lim1; ++i) f1_.changed[f1_.index[i]] = 1;
            } else {
                Split s = split(b.off1, b.lim1, b.off2, b.lim2, b.need_min);
                // Both halves are independent; the lower one is pushed last (done first).
                stack.push_back({s.i1, b.lim1, s.i2, b.lim2, s.min_hi});
                stack.push_back({b.off1, s.i1, b.off2, s.i2, s.min_lo});
            }
            ticker_.tick();
        }
    }

private:
    struct Split {
        long i1, i2;
        bool min_lo, min_hi;
    };

    Split split(long off1, long lim1, long off2, long lim2, bool need_min) {
        long* kvdf = kvdf_;
        long* kvdb = kvdb_;
        const std::uint32_t* h1 = h1_;
        const std::uint32_t* h2 = h2_;
        const long dmin = off1 - lim2, dmax = lim1 - off2;
        const long fmid = off1 - off2, bmid = lim1 - lim2;
        const bool odd = ((fmid - bmid) & 1) != 0;
        long fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
        kvdf[fmid] = off1;
        kvdb[bmid] = lim1;

        for (long ec = 1;; ++ec) {
            bool got_snake = false;
            ticker_.tick(static_cast<std::size_t>(fmax - fmin + bmax - bmin + 2));

            // Forward pass: widen the diagonal range by one (or narrow it at a border).
            if (fmin > dmin) kvdf[--fmin - 1] = -1;
            else ++fmin;
            if (fmax < dmax) kvdf[++fmax + 1] = -1;
            else --fmax;
            for (long d = fmax; d >= fmin; d -= 2) {
                long i1 = kvdf[d - 1] >= kvdf[d + 1] ? kvdf[d - 1] + 1 : kvdf[d + 1];
                long start = i1;
                long i2 = i1 - d;
                while (i1 < lim1 && i2 < lim2 && h1[i1] == h2[i2]) ++i1, ++i2;
                if (i1 - start > kSnakeCount) got_snake = true;
                kvdf[d] = i1;
                if (odd && bmin <= d && d <= bmax && kvdb[d] <= i1) return {i1, i2, true, true};
            }

            // Backward pass.
            if (bmin > dmin) kvdb[--bmin - 1] = kLineMax;
            else ++bmin;
            if (bmax < dmax) kvdb[++bmax + 1] = kLineMax;
            else --bmax;
            for (long d = bmax; d >= bmin; d -= 2) {
                long i1 = kvdb[d - 1] < kvdb[d + 1] ? kvdb[d - 1] : kvdb[d + 1] - 1;
                long start = i1;
                long i2 = i1 - d;
                while (i1 > off1 && i2 > off2 && h1[i1 - 1] == h2[i2 - 1]) --i1, --i2;
                if (start - i1 > kSnakeCount) got_snake = true;
                kvdb[d] = i1;
                if (!odd && fmin <= d && d <= fmax && i1 <= kvdf[d]) return {i1, i2, true, true};
            }

            if (need_min) continue;

            // Past the trigger cost, accept a diagonal that went far on a good snake.
            if (got_snake && ec > kHeurMinCost) {
                long best = 0;
                Split s{0, 0, true, false};
                for (long d = fmax; d >= fmin; d -= 2) {
                    long dd = d > fmid ? d - fmid : fmid - d;
                    long i1 = kvdf[d];
                    long i2 = i1 - d;
                    long v = (i1 - off1) + (i2 - off2) - dd;
                    if (v > kHeurFactor * ec && v > best && off1 + kSnakeCount <= i1 && i1 < lim1 &&
                        off2 + kSnakeCount <= i2 && i2 < lim2) {
                        for (long k = 1; h1[i1 - k] == h2[i2 - k]; ++k) {
                            if (k == kSnakeCount) {
                                best = v;
                                s.i1 = i1;
                                s.i2 = i2;
                                break;
                            }
                        }
                    }
                }
                if (best > 0) return s;

                best = 0;
                s = Split{0, 0, false, true};
                for (long d = bmax; d >= bmin; d -= 2) {
                    long dd = d > bmid ? d - bmid : bmid - d;
                    long i1 = kvdb[d];
                    long i2 = i1 - d;
                    long v = (lim1 - i1) + (lim2 - i2) - dd;
                    if (v > kHeurFactor * ec && v > best && off1 < i1 && i1 <= lim1 - kSnakeCount &&
                        off2 < i2 && i2 <= lim2 - kSnakeCount) {
                        for (long k = 0; h1[i1 + k] == h2[i2 + k]; ++k) {
                            if (k == kSnakeCount - 1) {
                                best = v;
                                s.i1 = i1;
                                s.i2 = i2;
                                break;
                            }
                        }
                    }
                }
                if (best > 0) return s;
            }

            // Too expensive: take the furthest-reaching point found so far.
            if (ec >= mxcost_) {
                long fbest = -1, fbest1 = -1;
                for (long d = fmax; d >= fmin; d -= 2) {
                    long i1 = std::min(kvdf[d], lim1);
                    long i2 = i1 - d;
                    if (lim2 < i2) {
                        i1 = lim2 + d;
                        i2 = lim2;
                    }
                    if (fbest < i1 + i2) {
                        fbest = i1 + i2;
                        fbest1 = i1;
                    }
                }
                long bbest = kLineMax, bbest1 = kLineMax;
                for (long d = bmax; d >= bmin; d -= 2) {
                    long i1 = std::max(off1, kvdb[d]);
                    long i2 = i1 - d;
                    if (i2 < off2) {
                        i1 = off2 + d;
                        i2 = off2;
                    }
                    if (i1 + i2 < bbest) {
                        bbest = i1 + i2;
                        bbest1 = i1;
                    }
                }
                if ((lim1 + lim2) - bbest < fbest - (off1 + off2))
                    return {fbest1, fbest - fbest1, true, false};
                return {bbest1, bbest - bbest1, false, true};
            }
        }
    }

    File& f1_;
    File& f2_;
    InterruptTicker& ticker_;
    std::unique_ptr<long[]> kv_;
    long* kvdf_;
    long* kvdb_;
    long mxcost_;
    const std::uint32_t* h1_;
    const std::uint32_t* h2_;
};

// dtl's O(NP) on the reduced sequences (the comparator ticks the interrupt check,
// and says when that threw).
class TickingCompare : public dtl::Compare<std::uint32_t> {
public:
    TickingCompare() = default;
    TickingCompare(InterruptTicker* t, bool* threw) : ticker_(t), threw_(threw) {}
    bool impl(const std::uint32_t& a, const std::uint32_t& b) const override {
        if (ticker_ != nullptr) {
            try {
                ticker_->tick();
            } catch (...) {
                *threw_ = true;
                throw;
            }
        }
        return a == b;
    }

private:
    InterruptTicker* ticker_ = nullptr;
    bool* threw_ = nullptr;
};

using DtlDiff = dtl::Diff<std::uint32_t, std::vector<std::uint32_t>, TickingCompare>;

// dtl keeps compose()'s O(NP) array in a raw pointer, the private member `fp`,
// freed only where compose() returns: a cancel thrown by the comparator leaked it,
// 8 bytes per line of both texts (12.8 MB per cancelled diff of 1M lines, for as
// long as the backend lived). Access checks do not apply to the names in an
// explicit instantiation ([temp.spec.general]), which gives run_dtl a pointer to
// that member to free it.
struct DtlFp {
    using type = long long* DtlDiff::*;
    friend type member(DtlFp);
};
template <typename Tag, typename Tag::type Member>
struct Expose {
    friend typename Tag::type member(Tag) { return Member; }
};
template struct Expose<DtlFp, &DtlDiff::fp>;

void run_dtl(File& f1, File& f2, InterruptTicker& ticker) {
    bool threw = false;
    DtlDiff d(f1.reduced, f2.reduced, TickingCompare(&ticker, &threw));
    long long*& fp = d.*member(DtlFp{});
    fp = nullptr;
    try {
        d.compose();
    } catch (...) {
        // Thrown from the comparator, inside compose()'s loops, the array is
        // allocated (elsewhere it may be freed or not yet made: left alone).
        if (threw) delete[] fp;
        throw;
    }
    std::size_t i = 0, j = 0;
    for (const auto& e : d.getSes().getSequence()) {
        switch (e.second.type) {
            case dtl::SES_COMMON: ++i, ++j; break;
            case dtl::SES_DELETE: f1.changed[f1.index[i++]] = 1; break;
            case dtl::SES_ADD: f2.changed[f2.index[j++]] = 1; break;
        }
    }
}

// Change groups (xdl_change_compact): each group of changed lines in `f` is slid up
// as far as possible, then down as far as possible (merging groups it touches), and
// finally back up to line up with the last group of the other file it can align with.
struct Group {
    long start, end;
};

class Compactor {
public:
    Compactor(File& f, File& o) : f_(f), o_(o) {}

    void run(InterruptTicker& ticker) {
        Group g = first(f_), go = first(o_);
        for (;;) {
            if (g.end != g.start) {
                long groupsize, earliest_end, end_matching_other;
                do {
                    groupsize = g.end - g.start;
                    end_matching_other = -1;
                    while (slide_up(f_, g)) check(previous(o_, go));
                    earliest_end = g.end;
                    if (go.end > go.start) end_matching_other = g.end;
                    while (slide_down(f_, g)) {
                        check(next(o_, go));
                        if (go.end > go.start) end_matching_other = g.end;
                    }
                    ticker.tick();
                } while (groupsize != g.end - g.start);

                if (g.end != earliest_end && end_matching_other != -1) {
                    while (go.end == go.start) {
                        check(slide_up(f_, g));
                        check(previous(o_, go));
                    }
                }
            }
            if (!next(f_, g)) break;
            check(next(o_, go));
            ticker.tick();
        }
    }

private:
    static void check(bool ok) {
        if (!ok) throw Error(Errc::internal, "diff change groups out of sync", Detail().add("check", "diff_groups"));
    }
    static Group first(const File& f) {
        Group g{0, 0};
        while (f.changed[g.end]) ++g.end;
        return g;
    }
    static bool next(const File& f, Group& g) {
        if (g.end == f.n) return false;
        g.start = g.end + 1;
        g.end = g.start;
        while (f.changed[g.end]) ++g.end;
        return true;
    }
    static bool previous(const File& f, Group& g) {
        if (g.start == 0) return false;
        g.end = g.start - 1;
        g.start = g.end;
        while (f.changed[g.start - 1]) --g.start;
        return true;
    }
    static bool slide_down(File& f, Group& g) {
        if (g.end < f.n && f.ids[g.start] == f.ids[g.end]) {
            f.changed[g.start++] = 0;
            f.changed[g.end++] = 1;
            while (f.changed[g.end]) ++g.end;
            return true;
        }
        return false;
    }
    static bool slide_up(File& f, Group& g) {
        if (g.start > 0 && f.ids[g.start - 1] == f.ids[g.end - 1]) {
            f.changed[--g.start] = 1;
            f.changed[--g.end] = 0;
            while (f.changed[g.start - 1]) --g.start;
            return true;
        }
        return false;
    }

    File& f_;
    File& o_;
};

std::vector<DiffChange> build_script(const File& f1, const File& f2) {
    std::vector<DiffChange> out;
    long i1 = 0, i2 = 0;
    while (i1 < f1.n || i2 < f2.n) {
        if ((i1 < f1.n && f1.changed[i1]) || (i2 < f2.n && f2.changed[i2])) {
            long s1 = i1, s2 = i2;
            while (i1 < f1.n && f1.changed[i1]) ++i1;
            while (i2 < f2.n && f2.changed[i2]) ++i2;
            out.push_back({s1, i1 - s1, s2, i2 - s2});
        } else {
            ++i1;
            ++i2;
        }
    }
    return out;
}

}  // namespace

std::vector<DiffChange> diff_ids(const std::uint32_t* a, std::size_t na, const std::uint32_t* b,
                                 std::size_t nb, std::size_t id_count, DiffAlgorithm algorithm) {
    InterruptTicker ticker(1 << 14);
    // The working set, charged up front. Per line of either side: the changed flag,
    // the discard class, the reduced id and its line index, the run counts of
    // MultiMatchRuns, the two V entries of Myers' (or dtl's) algorithm, the local id
    // and its sorted copy, and at most half a script entry; per distinct id, two
    // occurrence counters.
    constexpr std::size_t kPerLine = 2 * sizeof(char) + sizeof(std::uint32_t) + sizeof(long) +
                                     sizeof(std::int32_t) + sizeof(long) + 2 * sizeof(long) +
                                     2 * sizeof(std::uint32_t) + sizeof(DiffChange) / 2;
    memory::Charge work((na + nb) * kPerLine + 2 * sizeof(std::uint32_t) * std::min(id_count, 4 * (na + nb) + 1024));
    // A small diff over a large id space (a conflict refined inside a big merge)
    // gets local ids, so the per-id counters stay proportional to this diff.
    std::vector<std::uint32_t> local;
    if (id_count > 4 * (na + nb) + 1024) {
        std::vector<std::uint32_t> distinct(a, a + na);
        distinct.insert(distinct.end(), b, b + nb);
        std::sort(distinct.begin(), distinct.end());
        distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
        auto rank = [&](std::uint32_t id) {
            return static_cast<std::uint32_t>(
                std::lower_bound(distinct.begin(), distinct.end(), id) - distinct.begin());
        };
        local.reserve(na + nb);
        for (std::size_t i = 0; i < na; ++i) local.push_back(rank(a[i]));
        for (std::size_t i = 0; i < nb; ++i) local.push_back(rank(b[i]));
        a = local.data();
        b = local.data() + na;
        id_count = distinct.size();
    }
    File f1, f2;
    f1.init(a, static_cast<long>(na));
    f2.init(b, static_cast<long>(nb));
    prepare(f1, f2, id_count, ticker);
    if (algorithm == DiffAlgorithm::dtl_onp) {
        run_dtl(f1, f2, ticker);
    } else {
        Myers(f1, f2, ticker).run();
    }
    f1.reduced = {};
    f2.reduced = {};
    f1.index = {};
    f2.index = {};
    Compactor(f1, f2).run(ticker);
    Compactor(f2, f1).run(ticker);
    return build_script(f1, f2);
}

}  // namespace ce
