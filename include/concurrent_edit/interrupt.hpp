// Cooperative cancellation for long loops of the core.
//
// Long-running algorithms call ce::check_interrupts() every few thousand steps.
// The PostgreSQL glue installs a hook that runs CHECK_FOR_INTERRUPTS() through the
// PG_TRY wrapper, so a cancel or statement_timeout arrives here as a C++ exception
// and unwinds the core normally (destructors run). Without a hook it is a no-op.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <vector>

namespace ce {

using InterruptHook = void (*)();

// Installs the hook (nullptr removes it). Returns the previous hook.
InterruptHook set_interrupt_hook(InterruptHook hook) noexcept;

namespace detail {
extern InterruptHook interrupt_hook;
}

inline void check_interrupts() {
    if (detail::interrupt_hook != nullptr) detail::interrupt_hook();
}

// Calls check_interrupts() once every `period` ticks; cheap enough for inner loops.
class InterruptTicker {
public:
    explicit InterruptTicker(std::size_t period = 4096) noexcept : period_(period), left_(period) {}
    void tick() {
        if (--left_ == 0) {
            left_ = period_;
            check_interrupts();
        }
    }
    void tick(std::size_t work) {
        if (work >= left_) {
            left_ = period_;
            check_interrupts();
        } else {
            left_ -= work;
        }
    }

private:
    std::size_t period_;
    std::size_t left_;
};

namespace detail {
// A request of a few KiB, made and given back. glibc's malloc keeps small freed
// blocks aside and merges all of them at the next large request, in one call that
// cannot be interrupted: 0.3 s after the 1.8 million names of 600,000 operations.
// Made every few thousand frees, it keeps that work in small steps.
inline void merge_freed_blocks() {
    void* volatile p = std::malloc(4096);
    std::free(p);
}
}  // namespace detail

// Empties a container one element at a time, ticking: freeing the millions of nodes
// or strings of a large input takes long enough to need interrupt checks (a
// destructor cannot check). What is left when a check throws is freed as usual.
template <typename Container>
void clear_ticking(Container& c, InterruptTicker& ticker) {
    std::size_t freed = 0;
    for (auto it = c.begin(); it != c.end();) {
        ticker.tick();
        it = c.erase(it);
        if (++freed % 4096 == 0) detail::merge_freed_blocks();
    }
}
template <typename T, typename A>
void clear_ticking(std::vector<T, A>& v, InterruptTicker& ticker) {
    std::size_t freed = 0;
    while (!v.empty()) {
        ticker.tick();
        v.pop_back();
        if (++freed % 4096 == 0) detail::merge_freed_blocks();
    }
    std::vector<T, A>().swap(v);
}

}  // namespace ce
