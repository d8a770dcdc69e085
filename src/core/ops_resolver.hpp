// Internals of resolve_operations, shared by src/core/ops_resolve.cpp (acceptance
// and order of application), ops_apply.cpp (application walk, block mapping) and
// ops_confirm.cpp (the confirm policy).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/memory.hpp"
#include "concurrent_edit/ops.hpp"
#include "ops_internal.hpp"

namespace ce::ops::detail {

inline bool is_content(OpKind k) { return k == OpKind::text_edit || k == OpKind::mark_edit || k == OpKind::paste; }

struct Segment {
    std::uint32_t orig;
    std::int64_t from;
    std::optional<std::int64_t> to;
    std::optional<std::int64_t> at;
};

enum class Status : unsigned char { live, split, joined_source, joined_target };

// A block in the application walk. Blocks never mentioned are originals, alive.
struct Block;
using BlockEntry = std::pair<const std::string, Block>;  // an entry of Resolver::blocks_
struct Block {
    Status status = Status::live;
    std::size_t origin = kNoOp;   // the operation that created it (kNoOp: original)
    std::size_t remover = kNoOp;  // the operation that split or joined it away
    std::int64_t split_at = 0;
    // split: the left piece; joined: the joined block. Entries of blocks_ (whose
    // nodes never move), so that following a chain of splits neither hashes nor
    // copies the ids, which grow along it (before, a chain of 680 splits made each
    // operation remapped along it cost about 1 ms).
    const BlockEntry* next = nullptr;
    const BlockEntry* other = nullptr;  // split: the right piece; joined: the other block of the join
    std::vector<Segment> segs;  // created blocks: where their content comes from
};

using i128 = __int128;

class Resolver {
public:
    Resolver(const Prepared& p, Policy policy) : p_(p), ops_(*p.ops), policy_(policy), n_(p.size()) {}

    Resolution run();

private:
    // ---------------------------------------------------------------- texts
    static std::string fate(const Block& b) {
        if (b.status == Status::split) return "split at offset " + std::to_string(b.split_at);
        return "joined with " + b.other->first;
    }
    static std::string gone(std::string_view name, const Block& b) {
        return "Block " + std::string(name) + " no longer exists (" + fate(b) + ")";
    }
    // Why `later` conflicts with `earlier` on `block` (phase 1).
    std::string conflict_reason(std::size_t earlier, std::size_t later, std::string_view block) const;

    // What the walk builds grows with the input, faster than it for chains of
    // splits (each derived id repeats its ancestors', and every piece of the
    // mapping names its block): charged as it is made, under the caller's Budget
    // (concurrent_edit.max_merge_memory), so a small input cannot take gigabytes.
    void account(std::size_t bytes) { held_.resize(held_.bytes() + bytes); }
    static std::size_t string_cost(const std::string& s) { return sizeof(std::string) + memory::string_bytes(s.size()); }

    void conflict(ConflictType type, std::string_view block, std::size_t first, std::size_t second, std::string reason,
                  bool rejected) {
        account(sizeof(Conflict) + memory::string_bytes(block.size()) + memory::string_bytes(reason.size()));
        res_.conflicts.push_back(Conflict{type, std::string(block), first, second, std::move(reason), rejected});
    }

    // ---------------------------------------------------------------- phase 1 (ops_resolve.cpp)
    void count();
    void accept();
    bool dependencies_hold(std::size_t L);
    std::vector<std::size_t> application_order();

    // ---------------------------------------------------------------- phase 2 (ops_apply.cpp)
    // A block met for the first time: its hash node (link, key, block, cached hash)
    // and its name are charged.
    BlockEntry& entry(const std::string& name) {
        auto [it, inserted] = blocks_.try_emplace(name);
        if (inserted) account(memory::hash_node_bytes(sizeof(*it)) + memory::string_bytes(name.size()));
        return *it;
    }
    Block& block(const std::string& name) { return entry(name).second; }
    const BlockEntry* find_entry(const std::string& name) const {
        auto it = blocks_.find(name);
        return it == blocks_.end() ? nullptr : &*it;
    }
    const Block* find(const std::string& name) const {
        const BlockEntry* e = find_entry(name);
        return e == nullptr ? nullptr : &e->second;
    }
    static bool removed(const Block* b) { return b != nullptr && b->status != Status::live; }

    std::uint32_t original_id(const std::string& name) {
        auto [it, inserted] = original_ids_.try_emplace(name, static_cast<std::uint32_t>(originals_.size()));
        if (inserted) {
            account(memory::hash_node_bytes(sizeof(*it)) + 2 * string_cost(name));
            originals_.push_back(name);
        }
        return it->second;
    }
    // The content of a block as segments of original blocks.
    std::vector<Segment> take_segments(const std::string& name, Block& b) {
        if (b.origin != kNoOp) return std::move(b.segs);
        account(memory::vector_bytes(1, sizeof(Segment)));
        return {Segment{original_id(name), 0, std::nullopt, 0}};
    }
    void count_segments(std::size_t k) {
        account(k * sizeof(Segment));
        segments_ += k;
        if (segments_ > kMaxMappingSegments)
            throw Error(Errc::limit_exceeded, "operations: the block mapping has too many pieces",
                        Detail().add("limit", kMaxMappingSegments));
    }
    void check_derived(const std::string& id, std::size_t o) {
        if (id.size() > kMaxDerivedBlockIdBytes)
            throw Error(Errc::limit_exceeded,
                        describe(p_, o) + " would create a block id longer than " +
                            std::to_string(kMaxDerivedBlockIdBytes) + " bytes",
                        Detail().add("operation", o + 1).add_json("op", ops_[o].json).add("limit", kMaxDerivedBlockIdBytes));
    }
    // Length of a block made of segments, when every segment's place and size is known.
    static std::optional<i128> length(const std::vector<Segment>& segs) {
        i128 len = 0;
        for (const Segment& s : segs) {
            if (!s.at || !s.to) return std::nullopt;
            len = std::max<i128>(len, static_cast<i128>(*s.at) + (*s.to - s.from));
        }
        return len;
    }

    bool follow(std::size_t o, std::string& name, std::optional<std::int64_t>& offset, bool as_target);
    bool chase(std::size_t o, std::string& name, std::optional<std::int64_t>& offset, bool as_target);
    void walk(const std::vector<std::size_t>& app);

    // A split or join may not produce a block id that the walk has already seen.
    bool fresh(std::size_t o, const std::string& id) {
        const Block* b = find(id);
        if (b == nullptr) return true;
        conflict(ConflictType::direct, id, b->origin, o, "Block id collision: block " + id + " already exists", true);
        return false;
    }
    BlockEntry& block_created(const std::string& id, std::size_t o) {
        BlockEntry& e = entry(id);
        e.second.origin = o;
        return e;
    }
    // Pieces of `segs` before and from offset k.
    void split_segments(const std::vector<Segment>& segs, std::int64_t k, std::vector<Segment>& left,
                        std::vector<Segment>& right);
    void finish();

    // ---------------------------------------------------------------- confirm (ops_confirm.cpp)
    // The walk notes each block an operation reaches beyond its own members (the
    // block it was moved onto, the blocks it creates), so that confirm() knows which
    // operations can affect each other.
    void link(std::size_t o, const std::string& name) {
        if (policy_ != Policy::confirm) return;
        account(sizeof(std::size_t) + string_cost(name));
        links_.emplace_back(o, name);
    }
    // Turns the fail-closed result into pending decisions and waiting operations.
    void confirm();

    const Prepared& p_;
    const std::vector<Operation>& ops_;
    Policy policy_;
    std::size_t n_;
    std::vector<std::size_t> order_, time_, krank_, trank_, tpos_;
    std::vector<char> accepted_;
    // Bounds on the entries of the hash tables below, which reserve that room from the
    // start: growing a table of millions of entries moves them all in one step, which
    // cannot check for interrupts (0.3 s for the blocks of 600,000 splits).
    struct Counts {
        std::size_t named = 0;    // blockIds and targetBlockIds
        std::size_t deps = 0;     // dependencies
        std::size_t created = 0;  // blocks splits and joins create
        std::size_t removed = 0;  // blocks splits and joins replace
    } counts_;
    // Per name that dependencies refer to (its creators' list in Prepared): the
    // creators in time order, how far accept() has passed them, and the accepted
    // ones among those passed. accept() goes forward in time, so each creator is
    // passed once, and a dependency's check reads only accepted creators earlier in
    // time (it scanned every creator for every dependent operation: k x m).
    struct DependencyState {
        std::vector<std::size_t> by_time;
        std::size_t next = 0;
        std::vector<std::size_t> accepted;
    };
    std::unordered_map<const std::vector<std::size_t>*, DependencyState> dependencies_;
    std::unordered_map<std::string, Block> blocks_;
    std::vector<std::string> originals_;
    std::unordered_map<std::string, std::uint32_t> original_ids_;
    std::size_t segments_ = 0;
    memory::Charge held_;
    std::vector<std::pair<std::size_t, std::string>> links_;
    InterruptTicker ticker_{4096};
    Resolution res_;
};

}  // namespace ce::ops::detail
