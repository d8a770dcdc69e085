// Memory accounting and budgets. See memory.hpp.
#include "concurrent_edit/memory.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include "concurrent_edit/error.hpp"

namespace ce::memory {

namespace {
thread_local std::int64_t live = 0;
thread_local Budget* innermost = nullptr;
BudgetEndHook end_hook = nullptr;
}  // namespace

BudgetEndHook set_budget_end_hook(BudgetEndHook hook) noexcept {
    BudgetEndHook old = end_hook;
    end_hook = hook;
    return old;
}

std::int64_t charged() noexcept { return live; }

void charge(std::size_t bytes) {
    const std::int64_t next = live + static_cast<std::int64_t>(bytes);
    for (Budget* b = innermost; b != nullptr; b = b->outer_) {
        if (next > b->ceiling_) {
            const std::int64_t used = next - b->start_;
            throw Error(Errc::limit_exceeded,
                        std::string("the operation needs more memory than ") + b->setting_ + " allows",
                        Detail()
                            .add("setting", b->setting_)
                            .add("limit_kb", b->limit_ / 1024)
                            .add("needed_kb", static_cast<long long>((used + 1023) / 1024)),
                        std::string("Merge smaller values, or raise ") + b->setting_ + ".");
        }
        if (next > b->peak_) b->peak_ = next;
    }
    live = next;
}

void release(std::size_t bytes) noexcept { live -= static_cast<std::int64_t>(bytes); }

std::size_t headroom() noexcept {
    std::int64_t room = INT64_MAX;
    for (Budget* b = innermost; b != nullptr; b = b->outer_) room = std::min(room, b->ceiling_ - live);
    return room <= 0 ? 0 : room == INT64_MAX ? SIZE_MAX : static_cast<std::size_t>(room);
}

Budget::Budget(std::size_t limit, const char* setting) noexcept
    : start_(live),
      ceiling_(live + static_cast<std::int64_t>(limit)),
      peak_(live),
      limit_(limit),
      setting_(setting),
      outer_(innermost) {
    innermost = this;
}

Budget::~Budget() {
    innermost = outer_;
    if (outer_ == nullptr && end_hook != nullptr) end_hook(peak());
}

std::size_t Budget::peak() const noexcept { return static_cast<std::size_t>(peak_ - start_); }

}  // namespace ce::memory
