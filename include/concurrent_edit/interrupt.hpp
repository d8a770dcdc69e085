// Cooperative cancellation for long loops of the core.
//
// Long-running algorithms call ce::check_interrupts() every few thousand steps.
// The PostgreSQL glue installs a hook that runs CHECK_FOR_INTERRUPTS() through the
// PG_TRY wrapper, so a cancel or statement_timeout arrives here as a C++ exception
// and unwinds the core normally (destructors run). Without a hook it is a no-op.
#pragma once

#include <cstddef>

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

}  // namespace ce
