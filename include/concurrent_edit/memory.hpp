// Accounting of the core's large structures, and a bound on what one operation may
// take (concurrent_edit.max_merge_memory in PostgreSQL, like work_mem).
//
// The structures whose size grows with the input charge their bytes while they are
// alive: JSON nodes and their strings, arrays and members; line tables, interners
// and the arrays of the diff algorithms; merge results. The count is per thread.
// A Budget bounds how far that count may grow while the Budget is alive: a charge
// beyond it throws ce::Error limit_exceeded (SQLSTATE 54000 in PostgreSQL) before
// the memory is used, and the work unwinds normally. Budgets nest; the tightest
// bound applies.
//
// What is counted is what these structures allocate (sizes as the C++ library and
// malloc lay them out on 64-bit Linux); small temporaries are not. docs/benchmarks.md
// compares the count with the measured peak memory of real merges.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ce::memory {

// Bytes currently charged in this thread.
std::int64_t charged() noexcept;

// Charges `bytes`; throws limit_exceeded when a Budget of this thread is exceeded
// (then nothing is charged).
void charge(std::size_t bytes);
// Gives back bytes charged before.
void release(std::size_t bytes) noexcept;
// Bytes that may still be charged before a Budget of this thread is exceeded
// (SIZE_MAX without one): for glue code that must decide before it allocates
// outside the count (a value converted to text by PostgreSQL, say).
std::size_t headroom() noexcept;

// Bytes malloc gives a request of `n` bytes (its chunk, header included).
constexpr std::size_t malloc_size(std::size_t n) noexcept { return n < 24 ? 32 : (n + 8 + 15) & ~std::size_t(15); }

// The heap bytes of a std::vector's buffer of `capacity` elements of `elem` bytes.
constexpr std::size_t vector_bytes(std::size_t capacity, std::size_t elem) noexcept {
    return capacity == 0 ? 0 : malloc_size(capacity * elem);
}
// The heap bytes of a std::string of `capacity` (0 while it fits in place).
constexpr std::size_t string_bytes(std::size_t capacity) noexcept {
    return capacity <= 15 ? 0 : malloc_size(capacity + 1);
}
// The heap bytes of a node of a std::unordered_map or set whose element is
// `element` bytes: the element, the link to the next node and the cached hash
// (what it owns beyond that, and the buckets, are not included).
constexpr std::size_t hash_node_bytes(std::size_t element) noexcept {
    return malloc_size(element + 2 * sizeof(void*));
}

// A charge held for a scope or a structure's lifetime; resize() as it grows.
class Charge {
public:
    Charge() noexcept = default;
    explicit Charge(std::size_t bytes) { resize(bytes); }
    ~Charge() { release(bytes_); }
    Charge(const Charge&) = delete;
    Charge& operator=(const Charge&) = delete;
    Charge(Charge&& other) noexcept : bytes_(other.bytes_) { other.bytes_ = 0; }
    Charge& operator=(Charge&& other) noexcept {
        if (this != &other) {
            release(bytes_);
            bytes_ = other.bytes_;
            other.bytes_ = 0;
        }
        return *this;
    }
    void resize(std::size_t bytes) {
        if (bytes > bytes_) charge(bytes - bytes_);
        else release(bytes_ - bytes);
        bytes_ = bytes;
    }
    std::size_t bytes() const noexcept { return bytes_; }

private:
    std::size_t bytes_ = 0;
};

// Called (if set) when a Budget that no other Budget encloses ends, with its
// peak(): the glue gives a large operation's freed memory back to the system
// (src/pg/heap.hpp). It must not throw. Returns the previous hook.
using BudgetEndHook = void (*)(std::size_t peak) noexcept;
BudgetEndHook set_budget_end_hook(BudgetEndHook hook) noexcept;

// While alive, the charged bytes of this thread may grow by at most `limit` bytes.
// `setting` names the limit in the error (e.g. "concurrent_edit.max_merge_memory").
class Budget {
public:
    Budget(std::size_t limit, const char* setting) noexcept;
    ~Budget();
    Budget(const Budget&) = delete;
    Budget& operator=(const Budget&) = delete;
    // Largest growth of the charged bytes seen while this Budget was the innermost.
    std::size_t peak() const noexcept;

private:
    friend void charge(std::size_t bytes);
    friend std::size_t headroom() noexcept;
    std::int64_t start_;
    std::int64_t ceiling_;  // charged() may not exceed it
    std::int64_t peak_;     // highest charged() seen
    std::size_t limit_;
    const char* setting_;
    Budget* outer_;
};

}  // namespace ce::memory
