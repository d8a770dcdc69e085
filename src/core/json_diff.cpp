// Longest common subsequence of integer sequences: linear-space Myers (middle snake,
// as in "An O(ND) Difference Algorithm and Its Variations", section 4b) with two
// guards against quadratic work: a per-split cost limit after which the furthest
// reaching point is taken as the split (a valid, possibly non-minimal diff, like
// xdiff's heuristic), and a total work budget after which the remaining sub-problems
// are left unmatched (a valid, coarser diff).
#include <algorithm>
#include <vector>

#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/json_merge.hpp"

namespace ce::json {

namespace {

// Edit distance explored per split: max(kMinCost, sqrt(|a| + |b|)), as xdiff does.
constexpr long kMinCost = 1024;
// Total steps of one diff_match call: kBaseBudget + kBudgetPerElement * (|a| + |b|).
constexpr long long kBaseBudget = 10000000LL;
constexpr long long kBudgetPerElement = 128;

class Differ {
public:
    Differ(const std::vector<int>& a, const std::vector<int>& b)
        : a_(a), b_(b), match_(a.size(), -1),
          budget_(kBaseBudget + kBudgetPerElement * static_cast<long long>(a.size() + b.size())) {
        max_cost_ = kMinCost;
        while (max_cost_ * max_cost_ < static_cast<long>(a.size() + b.size())) max_cost_ *= 2;
    }

    std::vector<long> run() {
        struct Task {
            long a0, a1, b0, b1;
        };
        std::vector<Task> tasks{{0, static_cast<long>(a_.size()), 0, static_cast<long>(b_.size())}};
        while (!tasks.empty()) {
            Task t = tasks.back();
            tasks.pop_back();
            while (t.a0 < t.a1 && t.b0 < t.b1 && a_[t.a0] == b_[t.b0]) match_[t.a0++] = t.b0++;
            while (t.a0 < t.a1 && t.b0 < t.b1 && a_[t.a1 - 1] == b_[t.b1 - 1]) match_[--t.a1] = --t.b1;
            work(t.a1 - t.a0 + t.b1 - t.b0);
            if (t.a0 == t.a1 || t.b0 == t.b1 || work_ > budget_) continue;
            long x, y;
            if (!split(t.a0, t.a1 - t.a0, t.b0, t.b1 - t.b0, x, y)) continue;
            tasks.push_back({t.a0 + x, t.a1, t.b0 + y, t.b1});
            tasks.push_back({t.a0, t.a0 + x, t.b0, t.b0 + y});
        }
        return std::move(match_);
    }

private:
    void work(long long n) {
        work_ += n;
        ticker_.tick(static_cast<std::size_t>(n));
    }

    // Finds a split point (x, y) of a[a0, a0+n) x b[b0, b0+m) through which a shortest
    // edit path passes (or, past max_cost_, the furthest forward point). Both parts are
    // strictly smaller. False when there is no usable split.
    bool split(long a0, long n, long b0, long m, long& sx, long& sy) {
        const int* a = a_.data() + a0;
        const int* b = b_.data() + b0;
        const long max_d = (n + m + 1) / 2;
        // Diagonals beyond +-(max_cost_ + 1) are never reached, so the arrays need not
        // cover all max_d of them (an overlap check outside them cannot succeed yet).
        const long reach = std::min(max_d, max_cost_ + 1);
        const long off = reach + 1;
        v1_.assign(static_cast<std::size_t>(2 * reach + 3), -1);
        v2_.assign(static_cast<std::size_t>(2 * reach + 3), -1);
        work(2 * reach);
        v1_[off + 1] = 0;
        v2_[off + 1] = 0;
        const long delta = n - m;
        const bool front = (delta & 1) != 0;
        long k1start = 0, k1end = 0, k2start = 0, k2end = 0;
        long best_x = 0, best_y = 0;
        auto accept = [&](long x, long y) {
            if ((x == 0 && y == 0) || (x == n && y == m)) return false;  // no progress
            sx = x;
            sy = y;
            return true;
        };
        for (long d = 0; d < max_d; ++d) {
            if (d > max_cost_ || work_ > budget_) return accept(best_x, best_y);
            work(2 * d + 1);
            for (long k1 = -d + k1start; k1 <= d - k1end; k1 += 2) {
                const long i = off + k1;
                long x1 = (k1 == -d || (k1 != d && v1_[i - 1] < v1_[i + 1])) ? v1_[i + 1] : v1_[i - 1] + 1;
                long y1 = x1 - k1;
                const long x0 = x1;
                while (x1 < n && y1 < m && a[x1] == b[y1]) ++x1, ++y1;
                work(x1 - x0);
                v1_[i] = x1;
                if (x1 > n) {
                    k1end += 2;
                } else if (y1 > m) {
                    k1start += 2;
                } else {
                    if (x1 + y1 > best_x + best_y) best_x = x1, best_y = y1;
                    if (front) {
                        const long j = off + delta - k1;
                        if (j >= 0 && j < static_cast<long>(v2_.size()) && v2_[j] != -1 && x1 >= n - v2_[j])
                            return accept(x1, y1);
                    }
                }
            }
            for (long k2 = -d + k2start; k2 <= d - k2end; k2 += 2) {
                const long i = off + k2;
                long x2 = (k2 == -d || (k2 != d && v2_[i - 1] < v2_[i + 1])) ? v2_[i + 1] : v2_[i - 1] + 1;
                long y2 = x2 - k2;
                const long x0 = x2;
                while (x2 < n && y2 < m && a[n - x2 - 1] == b[m - y2 - 1]) ++x2, ++y2;
                work(x2 - x0);
                v2_[i] = x2;
                if (x2 > n) {
                    k2end += 2;
                } else if (y2 > m) {
                    k2start += 2;
                } else if (!front) {
                    const long j = off + delta - k2;
                    if (j >= 0 && j < static_cast<long>(v1_.size()) && v1_[j] != -1) {
                        const long x1 = v1_[j];
                        const long y1 = off + x1 - j;
                        if (x1 >= n - x2) return accept(x1, y1);
                    }
                }
            }
        }
        return false;  // nothing in common
    }

    const std::vector<int>& a_;
    const std::vector<int>& b_;
    std::vector<long> match_;
    std::vector<long> v1_, v2_;
    long long work_ = 0;
    const long long budget_;
    long max_cost_;
    InterruptTicker ticker_;
};

}  // namespace

std::vector<long> diff_match(const std::vector<int>& a, const std::vector<int>& b) {
    return Differ(a, b).run();
}

}  // namespace ce::json
