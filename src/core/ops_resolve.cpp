// Conflict detection and resolution of concurrent structural operations.
//
// Two passes over the validated set (docs/reference/operations.md explains the model):
//
//  1. Acceptance, in time order (timestamp first). Each operation is checked
//     against the operations accepted before it that share a block with it (same
//     blockId; a join's target): an incompatible pair is a conflict and fail-closed
//     rejects the later one, as the seed's resolveConflictFailClosed does. An
//     operation whose explicit dependency is created by an operation that did not
//     happen before it (or was rejected) is a dependency conflict.
//  2. Application, in the order of order_operations (structural operations of a block
//     before its text edits), adjusted so that what an operation needs comes first.
//     Operations naming a block that an applied split or join has replaced are
//     remapped (cascading updates) or, when that is not possible, rejected as
//     cascading conflicts. The walk builds the block mapping.
//
// Every decision depends on the two total orders only, never on input positions, so
// any permutation of the input gives the same result. Phase 1 and the public
// functions are here, phase 2 in ops_apply.cpp (the class: ops_resolver.hpp).
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ops_resolver.hpp"

namespace ce::ops {

namespace detail {

namespace {

// Two operations on the same block (same blockId). Symmetric. Documented as the
// compatibility matrix in docs/reference/operations.md.
bool compatible(OpKind a, OpKind b, Policy policy) {
    if (a == OpKind::custom || b == OpKind::custom) return false;
    if (a == OpKind::immutable_rewrite || b == OpKind::immutable_rewrite) {
        OpKind other = a == OpKind::immutable_rewrite ? b : a;
        return other == OpKind::reorder || other == OpKind::list_reparent;
    }
    bool ca = is_content(a);
    bool cb = is_content(b);
    if (ca && cb) return true;  // character-level edits: ordered, merged by the text layer
    if (ca || cb) return (ca ? b : a) != OpKind::table_struct;  // content survives structure
    if (a == OpKind::block_split && b == OpKind::block_split) return true;  // remapped
    if ((a == OpKind::block_split && b == OpKind::block_join) || (a == OpKind::block_join && b == OpKind::block_split))
        return policy == Policy::merge;
    return false;  // two structural changes of one block
}

// An operation on block T accepted before a join that consumes T as its target: it
// is applied before the join unless it replaced T (split, join) -- which only the
// merge policy follows (the join's target moves to T_left, or to T+U).
bool may_precede_join_target(OpKind k, Policy policy) {
    if (k == OpKind::custom) return false;
    if (k == OpKind::block_split || k == OpKind::block_join) return policy == Policy::merge;
    return true;
}

struct Accepted {
    std::array<std::size_t, kOpKinds> first;  // earliest accepted op of each kind on the block
    std::size_t consumed_by = kNoOp;          // accepted join with this block as target
    Accepted() { first.fill(kNoOp); }
};

}  // namespace

Resolution Resolver::run() {
    const std::size_t n = p_.size();
    order_ = sort_by_order(p_);
    time_ = sort_by_time(p_);
    // Ranks in both orders; identical operations share one, so nothing below
    // can tell them apart (tpos_, the strict position in time, only picks which of
    // identical operations a conflict names).
    // The orders and ranks, the accepted flags, and the applied operations (room
    // for all from the start: growing the list kept two copies at once).
    account(5 * memory::vector_bytes(n, sizeof(std::size_t)) + n + memory::vector_bytes(n, sizeof(AppliedOp)));
    res_.applied.reserve(n);
    krank_.resize(n);
    trank_.resize(n);
    tpos_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (i > 0) ticker_.tick(compare_work(p_, order_[i - 1], order_[i]) + compare_work(p_, time_[i - 1], time_[i]));
        tpos_[time_[i]] = i;
        krank_[order_[i]] = i > 0 && compare_order(p_, order_[i - 1], order_[i]) == 0 ? krank_[order_[i - 1]] : i;
        trank_[time_[i]] = i > 0 && compare_time(p_, time_[i - 1], time_[i]) == 0 ? trank_[time_[i - 1]] : i;
    }
    accepted_.assign(n, 0);
    res_.policy = policy_;
    count();
    accept();
    walk(application_order());
    finish();
    if (policy_ == Policy::confirm) confirm();
    // The walk's blocks and names, freed with checks (millions for the largest inputs).
    clear_ticking(blocks_, ticker_);
    clear_ticking(originals_, ticker_);
    clear_ticking(original_ids_, ticker_);
    clear_ticking(links_, ticker_);
    clear_ticking(dependencies_, ticker_);
    return std::move(res_);
}

// Why `later` conflicts with `earlier` on `block` (phase 1). An earlier split or
// join lacking its offset or target (see missing_fields) is described without it.
std::string Resolver::conflict_reason(std::size_t earlier, std::size_t later, std::string_view block) const {
    const Operation& e = ops_[earlier];
    OpKind k = p_.kind[earlier];
    const std::string gone = "Block " + std::string(block) + " no longer exists (";
    if (k == OpKind::block_split && e.block_id == block)
        return gone + "split" + (e.offset ? " at offset " + std::to_string(*e.offset) : std::string()) + ")";
    if (k == OpKind::block_join && e.block_id == block)
        return gone + "joined" + (e.target_block_id ? " with " + *e.target_block_id : std::string()) + ")";
    if (k == OpKind::block_join && e.target_block_id && *e.target_block_id == block)
        return gone + "joined with " + e.block_id + ")";
    return "Operation " + ops_[later].op_code + " conflicts with " + e.op_code + " on block " + std::string(block);
}

void Resolver::count() {
    for (std::size_t i = 0; i < n_; ++i) {
        ticker_.tick();
        const Operation& op = ops_[i];
        counts_.named += op.target_block_id ? 2 : 1;
        counts_.deps += op.dependencies.size();
        if (p_.kind[i] == OpKind::block_split) {
            counts_.created += 2;
            counts_.removed += 1;
        } else if (p_.kind[i] == OpKind::block_join) {
            counts_.created += 1;
            counts_.removed += 2;
        }
    }
    dependencies_.reserve(std::min(counts_.deps, p_.creators.size()));
}

void Resolver::accept() {
    std::unordered_map<std::string_view, Accepted> acc;
    acc.reserve(counts_.named);
    const std::size_t n = p_.size();
    for (std::size_t pos = 0; pos < n; ++pos) {
        const std::size_t L = time_[pos];
        ticker_.tick(pos > 0 ? compare_work(p_, time_[pos - 1], L) : 1);
        const Operation& op = ops_[L];
        const OpKind kind = p_.kind[L];
        if (pos > 0 && compare_time(p_, time_[pos - 1], L) == 0) {
            conflict(ConflictType::direct, op.block_id, time_[pos - 1], L,
                     "Operation " + op.op_code + " is a duplicate of an identical operation", true);
            continue;
        }
        // The earliest accepted operation that L conflicts with.
        std::size_t by = kNoOp;
        ConflictType type = ConflictType::direct;
        std::string_view block;
        auto consider = [&](std::size_t e, ConflictType t, std::string_view b) {
            if (by == kNoOp || trank_[e] < trank_[by]) {
                by = e;
                type = t;
                block = b;
            }
        };
        if (auto it = acc.find(op.block_id); it != acc.end()) {
            for (std::size_t k = 0; k < kOpKinds; ++k) {
                std::size_t e = it->second.first[k];
                if (e == kNoOp || compatible(static_cast<OpKind>(k), kind, policy_)) continue;
                // Cascading when e replaced the block and also comes first in the
                // order (L then names a block that is gone); direct otherwise, as
                // for the seed's split (t=10) against an earlier join (t=5).
                bool replaced = k == static_cast<std::size_t>(OpKind::block_split) ||
                                k == static_cast<std::size_t>(OpKind::block_join);
                consider(e, replaced && krank_[e] < krank_[L] ? ConflictType::cascading : ConflictType::direct,
                         op.block_id);
            }
            // The block was consumed by an earlier join (as its target).
            std::size_t j = it->second.consumed_by;
            if (j != kNoOp && !(policy_ == Policy::merge && kind == OpKind::block_join))
                consider(j, ConflictType::cascading, op.block_id);
        }
        if (kind == OpKind::block_join && op.target_block_id) {
            if (auto it = acc.find(*op.target_block_id); it != acc.end()) {
                for (std::size_t k = 0; k < kOpKinds; ++k) {
                    std::size_t e = it->second.first[k];
                    OpKind ek = static_cast<OpKind>(k);
                    if (e != kNoOp && !may_precede_join_target(ek, policy_))
                        consider(e,
                                 ek == OpKind::block_split || ek == OpKind::block_join ? ConflictType::cascading
                                                                                      : ConflictType::direct,
                                 *op.target_block_id);
                }
                if (it->second.consumed_by != kNoOp)
                    consider(it->second.consumed_by, ConflictType::direct, *op.target_block_id);
            }
        }
        if (by != kNoOp) {
            conflict(type, block, by, L, conflict_reason(by, L, block), true);
            continue;
        }
        if (!dependencies_hold(L)) continue;
        // An operation lacking what its application needs is rejected on its own,
        // but still stands against later operations on its block (fail-closed: it
        // was made on its block, only its details are unknown here).
        if (std::vector<std::string> missing = missing_fields(op); !missing.empty()) {
            std::string reason = "Operation " + op.op_code + " has no " + missing[0];
            res_.rejected.push_back(RejectedOp{L, std::nullopt, kNoOp, std::move(reason), std::move(missing)});
        } else {
            accepted_[L] = 1;
        }
        Accepted& a = acc[op.block_id];
        if (a.first[static_cast<std::size_t>(kind)] == kNoOp) a.first[static_cast<std::size_t>(kind)] = L;
        if (kind == OpKind::block_join && accepted_[L]) acc[*op.target_block_id].consumed_by = L;
    }
    clear_ticking(acc, ticker_);
}

// Each explicit dependency created by operations of the set needs one of them
// accepted and happened-before L (a Lamport timestamp strictly smaller, or a
// vector clock before). Blocks no operation creates are taken as existing.
bool Resolver::dependencies_hold(std::size_t L) {
    const Operation& op = ops_[L];
    for (const std::string& d : op.dependencies) {
        ticker_.tick();
        auto it = p_.creators.find(d);
        if (it == p_.creators.end()) continue;
        auto [at, fresh] = dependencies_.try_emplace(&it->second);
        DependencyState& st = at->second;
        if (fresh) {
            account(2 * memory::vector_bytes(it->second.size(), sizeof(std::size_t)) + sizeof(DependencyState) + 64);
            st.by_time = it->second;
            std::sort(st.by_time.begin(), st.by_time.end(), [this](std::size_t a, std::size_t b) {
                ticker_.tick();
                return tpos_[a] < tpos_[b];
            });
        }
        // The creators before L in time, their fate decided (L is no duplicate: a
        // duplicate is rejected before its dependencies are looked at, so each of
        // them has a smaller time rank than L).
        while (st.next < st.by_time.size() && tpos_[st.by_time[st.next]] < tpos_[L]) {
            ticker_.tick();
            const std::size_t c = st.by_time[st.next++];
            if (accepted_[c]) st.accepted.push_back(c);
        }
        std::size_t unordered = kNoOp;  // accepted, earlier in time, but not happened-before
        bool ok = false;
        for (std::size_t c : st.accepted) {
            ticker_.tick();
            if (happened_before(p_, c, L)) {
                ok = true;
                break;
            }
            if (unordered == kNoOp) unordered = c;  // the first in time
            // In time order, so by timestamp key; a creator that happened before L
            // has a smaller key (a Lamport value, or a vector clock's sum): none
            // from the first with a key not below L's on. With Lamport timestamps
            // the first creator decides; only concurrent vector clocks read more.
            if (p_.ts_major[c] >= p_.ts_major[L]) break;
        }
        if (ok) continue;
        // Strict time positions: of identical creators, the first one (the one a
        // duplicate's rejection names) is named, whatever the input order.
        std::size_t first = unordered != kNoOp ? unordered : st.by_time.front();
        const Operation& c = ops_[first];
        bool rejected_creator = !accepted_[first] && trank_[first] < trank_[L];
        std::string reason = "Operation " + op.op_code + " depends on block " + d + ", created by " + c.op_code +
                             " on block " + c.block_id +
                             (rejected_creator ? ", which was rejected"
                                               : ", but its timestamp is not after that operation's");
        conflict(ConflictType::dependency, d, first, L, std::move(reason), true);
        return false;
    }
    return true;
}

// Kahn's algorithm, smallest order key first, over the accepted operations with
// edges (all pointing forward in time, hence acyclic):
//  * creator -> operation naming a block it creates (blockId, targetBlockId,
//    dependencies), from the latest accepted creator earlier in time;
//  * operation naming block D earlier in time -> the join that consumes D as its
//    target; for references through targetBlockId or dependencies also -> the
//    join of D and the next split of D (the block still existed for them).
std::vector<std::size_t> Resolver::application_order() {
    const std::size_t n = p_.size();
    std::vector<std::pair<std::size_t, std::size_t>> edges;
    auto by_time = [&](std::size_t a, std::size_t b) { return trank_[a] < trank_[b]; };
    auto by_time_ticking = [&](std::size_t a, std::size_t b) {
        ticker_.tick();
        return trank_[a] < trank_[b];
    };

    std::unordered_map<std::string_view, std::vector<std::size_t>> creators;
    creators.reserve(p_.creators.size());
    for (const auto& [name, cs] : p_.creators) {
        ticker_.tick(cs.size());
        std::vector<std::size_t> acc;
        for (std::size_t c : cs)
            if (accepted_[c]) acc.push_back(c);
        if (acc.empty()) continue;
        std::sort(acc.begin(), acc.end(), by_time_ticking);
        for (std::size_t i = 1; i < acc.size(); ++i) edges.emplace_back(acc[i - 1], acc[i]);
        creators.emplace(name, std::move(acc));
    }
    struct Removers {
        std::vector<std::size_t> splits;
        std::size_t join_source = kNoOp;
        std::size_t join_target = kNoOp;
    };
    std::unordered_map<std::string_view, Removers> removers;
    removers.reserve(counts_.removed);
    for (std::size_t i = 0; i < n; ++i) {
        if (!accepted_[i]) continue;
        ticker_.tick();
        const Operation& op = ops_[i];
        if (p_.kind[i] == OpKind::block_split) removers[op.block_id].splits.push_back(i);
        if (p_.kind[i] == OpKind::block_join) {
            removers[op.block_id].join_source = i;
            removers[*op.target_block_id].join_target = i;
        }
    }
    for (auto& [name, r] : removers) {
        ticker_.tick();
        std::sort(r.splits.begin(), r.splits.end(), by_time_ticking);
        for (std::size_t i = 1; i < r.splits.size(); ++i) edges.emplace_back(r.splits[i - 1], r.splits[i]);
    }
    auto refer = [&](std::size_t o, std::string_view name, bool through_block_id) {
        if (auto it = creators.find(name); it != creators.end()) {
            const auto& cs = it->second;
            auto pos = std::lower_bound(cs.begin(), cs.end(), o, by_time);  // first not earlier than o
            if (pos != cs.begin() && *(pos - 1) != o) edges.emplace_back(*(pos - 1), o);
        }
        auto it = removers.find(name);
        if (it == removers.end()) return;
        const Removers& r = it->second;
        if (r.join_target != kNoOp && r.join_target != o && trank_[o] < trank_[r.join_target])
            edges.emplace_back(o, r.join_target);
        if (through_block_id) return;
        if (r.join_source != kNoOp && r.join_source != o && trank_[o] < trank_[r.join_source])
            edges.emplace_back(o, r.join_source);
        auto next = std::upper_bound(r.splits.begin(), r.splits.end(), o, by_time);
        if (next != r.splits.end() && *next != o) edges.emplace_back(o, *next);
    };
    for (std::size_t i = 0; i < n; ++i) {
        if (!accepted_[i]) continue;
        ticker_.tick();
        const Operation& op = ops_[i];
        refer(i, op.block_id, true);
        if (op.target_block_id) refer(i, *op.target_block_id, false);
        for (const std::string& d : op.dependencies) {
            ticker_.tick();
            refer(i, d, false);
        }
    }
    clear_ticking(creators, ticker_);
    clear_ticking(removers, ticker_);
    return topological_order(n, edges, accepted_, krank_, ticker_);
}

}  // namespace detail

Resolution resolve_operations(const std::vector<Operation>& ops, const Priorities& priorities, Policy policy) {
    detail::Prepared p = detail::prepare(ops, priorities);
    Resolution r = detail::Resolver(p, policy).run();
    detail::release(p);
    return r;
}

std::vector<Conflict> detect_conflicts(const std::vector<Operation>& ops, const Priorities& priorities) {
    Resolution r = resolve_operations(ops, priorities, Policy::fail_closed);
    std::vector<Conflict> conflicts = std::move(r.conflicts);
    release(r);
    return conflicts;
}

void release(Resolution& r) {
    InterruptTicker ticker;
    clear_ticking(r.applied, ticker);
    clear_ticking(r.rejected, ticker);
    for (auto& [orig, entries] : r.mapping) clear_ticking(entries, ticker);
    clear_ticking(r.mapping, ticker);
    clear_ticking(r.blocks, ticker);
    clear_ticking(r.conflicts, ticker);
    clear_ticking(r.pending, ticker);
    r.waiting.clear();
}

void release(std::vector<Operation>& ops) {
    InterruptTicker ticker(1024);
    clear_ticking(ops, ticker);
}

}  // namespace ce::ops
