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
// any permutation of the input gives the same result.
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/ops.hpp"
#include "ops_internal.hpp"

namespace ce::ops {

namespace {

using detail::Prepared;

bool is_content(OpKind k) { return k == OpKind::text_edit || k == OpKind::mark_edit || k == OpKind::paste; }

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

struct Segment {
    std::uint32_t orig;
    std::int64_t from;
    std::optional<std::int64_t> to;
    std::optional<std::int64_t> at;
};

enum class Status : unsigned char { live, split, joined_source, joined_target };

// A block in the application walk. Blocks never mentioned are originals, alive.
struct Block {
    Status status = Status::live;
    std::size_t origin = kNoOp;   // the operation that created it (kNoOp: original)
    std::size_t remover = kNoOp;  // the operation that split or joined it away
    std::int64_t split_at = 0;
    std::string next;     // split: left piece; joined: the joined block
    std::string other;    // split: right piece; joined: the other block of the join
    std::vector<Segment> segs;  // created blocks: where their content comes from
};

using i128 = __int128;

class Resolver {
public:
    Resolver(const Prepared& p, Policy policy) : p_(p), ops_(*p.ops), policy_(policy), n_(p.size()) {}

    Resolution run() {
        const std::size_t n = p_.size();
        order_ = detail::sort_by_order(p_);
        time_ = detail::sort_by_time(p_);
        // Ranks in both orders; identical operations share one, so nothing below
        // can tell them apart.
        krank_.resize(n);
        trank_.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            krank_[order_[i]] = i > 0 && detail::compare_order(p_, order_[i - 1], order_[i]) == 0 ? krank_[order_[i - 1]] : i;
            trank_[time_[i]] = i > 0 && detail::compare_time(p_, time_[i - 1], time_[i]) == 0 ? trank_[time_[i - 1]] : i;
        }
        accepted_.assign(n, 0);
        res_.policy = policy_;
        accept();
        walk(application_order());
        finish();
        return std::move(res_);
    }

private:
    // ---------------------------------------------------------------- texts
    static std::string fate(const Block& b) {
        if (b.status == Status::split) return "split at offset " + std::to_string(b.split_at);
        return "joined with " + b.other;
    }
    static std::string gone(std::string_view name, const Block& b) {
        return "Block " + std::string(name) + " no longer exists (" + fate(b) + ")";
    }
    // Why `later` conflicts with `earlier` on `block` (phase 1).
    std::string conflict_reason(std::size_t earlier, std::size_t later, std::string_view block) const {
        const Operation& e = ops_[earlier];
        OpKind k = p_.kind[earlier];
        if (k == OpKind::block_split && e.block_id == block)
            return "Block " + std::string(block) + " no longer exists (split at offset " + std::to_string(*e.offset) + ")";
        if (k == OpKind::block_join && e.block_id == block)
            return "Block " + std::string(block) + " no longer exists (joined with " + *e.target_block_id + ")";
        if (k == OpKind::block_join && *e.target_block_id == block)
            return "Block " + std::string(block) + " no longer exists (joined with " + e.block_id + ")";
        return "Operation " + ops_[later].op_code + " conflicts with " + e.op_code + " on block " + std::string(block);
    }

    void conflict(ConflictType type, std::string_view block, std::size_t first, std::size_t second, std::string reason,
                  bool rejected) {
        res_.conflicts.push_back(Conflict{type, std::string(block), first, second, std::move(reason), rejected});
    }

    // ---------------------------------------------------------------- phase 1
    struct Accepted {
        std::array<std::size_t, kOpKinds> first;  // earliest accepted op of each kind on the block
        std::size_t consumed_by = kNoOp;          // accepted join with this block as target
        Accepted() { first.fill(kNoOp); }
    };

    void accept() {
        std::unordered_map<std::string_view, Accepted> acc;
        const std::size_t n = p_.size();
        for (std::size_t pos = 0; pos < n; ++pos) {
            ticker_.tick();
            const std::size_t L = time_[pos];
            const Operation& op = ops_[L];
            const OpKind kind = p_.kind[L];
            if (pos > 0 && detail::compare_time(p_, time_[pos - 1], L) == 0) {
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
            if (kind == OpKind::block_join) {
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
            accepted_[L] = 1;
            Accepted& a = acc[op.block_id];
            if (a.first[static_cast<std::size_t>(kind)] == kNoOp) a.first[static_cast<std::size_t>(kind)] = L;
            if (kind == OpKind::block_join) acc[*op.target_block_id].consumed_by = L;
        }
    }

    // Each explicit dependency created by operations of the set needs one of them
    // accepted and happened-before L (a Lamport timestamp strictly smaller, or a
    // vector clock before). Blocks no operation creates are taken as existing.
    bool dependencies_hold(std::size_t L) {
        const Operation& op = ops_[L];
        for (const std::string& d : op.dependencies) {
            auto it = p_.creators.find(d);
            if (it == p_.creators.end()) continue;
            std::size_t earliest = kNoOp;
            std::size_t unordered = kNoOp;  // accepted, earlier in time, but not happened-before
            bool ok = false;
            for (std::size_t c : it->second) {
                ticker_.tick();
                if (earliest == kNoOp || trank_[c] < trank_[earliest]) earliest = c;
                if (accepted_[c] && trank_[c] < trank_[L]) {
                    if (detail::happened_before(p_, c, L)) {
                        ok = true;
                        break;
                    }
                    if (unordered == kNoOp || trank_[c] < trank_[unordered]) unordered = c;
                }
            }
            if (ok) continue;
            std::size_t first = unordered != kNoOp ? unordered : earliest;
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

    // ---------------------------------------------------------------- order of application
    // Kahn's algorithm, smallest order key first, over the accepted operations with
    // edges (all pointing forward in time, hence acyclic):
    //  * creator -> operation naming a block it creates (blockId, targetBlockId,
    //    dependencies), from the latest accepted creator earlier in time;
    //  * operation naming block D earlier in time -> the join that consumes D as its
    //    target; for references through targetBlockId or dependencies also -> the
    //    join of D and the next split of D (the block still existed for them).
    std::vector<std::size_t> application_order() {
        const std::size_t n = p_.size();
        std::vector<std::pair<std::size_t, std::size_t>> edges;
        auto by_time = [&](std::size_t a, std::size_t b) { return trank_[a] < trank_[b]; };

        std::unordered_map<std::string_view, std::vector<std::size_t>> creators;
        for (const auto& [name, cs] : p_.creators) {
            std::vector<std::size_t> acc;
            for (std::size_t c : cs)
                if (accepted_[c]) acc.push_back(c);
            if (acc.empty()) continue;
            std::sort(acc.begin(), acc.end(), by_time);
            for (std::size_t i = 1; i < acc.size(); ++i) edges.emplace_back(acc[i - 1], acc[i]);
            creators.emplace(name, std::move(acc));
        }
        struct Removers {
            std::vector<std::size_t> splits;
            std::size_t join_source = kNoOp;
            std::size_t join_target = kNoOp;
        };
        std::unordered_map<std::string_view, Removers> removers;
        for (std::size_t i = 0; i < n; ++i) {
            if (!accepted_[i]) continue;
            const Operation& op = ops_[i];
            if (p_.kind[i] == OpKind::block_split) removers[op.block_id].splits.push_back(i);
            if (p_.kind[i] == OpKind::block_join) {
                removers[op.block_id].join_source = i;
                removers[*op.target_block_id].join_target = i;
            }
        }
        for (auto& [name, r] : removers) {
            std::sort(r.splits.begin(), r.splits.end(), by_time);
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
            for (const std::string& d : op.dependencies) refer(i, d, false);
        }

        return detail::topological_order(n, edges, accepted_, krank_, ticker_);
    }

    // ---------------------------------------------------------------- phase 2
    Block& block(const std::string& name) { return blocks_.try_emplace(name).first->second; }
    const Block* find(const std::string& name) const {
        auto it = blocks_.find(name);
        return it == blocks_.end() ? nullptr : &it->second;
    }
    static bool removed(const Block* b) { return b != nullptr && b->status != Status::live; }

    std::uint32_t original_id(const std::string& name) {
        auto [it, inserted] = original_ids_.try_emplace(name, static_cast<std::uint32_t>(originals_.size()));
        if (inserted) originals_.push_back(name);
        return it->second;
    }
    // The content of a block as segments of original blocks.
    std::vector<Segment> take_segments(const std::string& name, Block& b) {
        if (b.origin != kNoOp) return std::move(b.segs);
        return {Segment{original_id(name), 0, std::nullopt, 0}};
    }
    void count_segments(std::size_t k) {
        segments_ += k;
        if (segments_ > kMaxMappingSegments)
            throw Error(Errc::limit_exceeded, "operations: the block mapping has too many pieces",
                        Detail().add("limit", kMaxMappingSegments));
    }
    void check_derived(const std::string& id, std::size_t o) {
        if (id.size() > kMaxDerivedBlockIdBytes)
            throw Error(Errc::limit_exceeded,
                        detail::describe(p_, o) + " would create a block id longer than " +
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

    // Follows the replacements of the block an operation names: one cascading
    // conflict (outcome remapped) naming the first replacement and the final block.
    // Returns false (after recording the rejection) when the operation cannot be moved.
    bool follow(std::size_t o, std::string& name, std::optional<std::int64_t>& offset, bool as_target) {
        const Block* first = find(name);
        if (!removed(first)) return true;
        const std::string original = name;
        const std::string first_fate = fate(*first);
        if (!chase(o, name, offset, as_target)) return false;
        std::string reason = "Block " + original + " was " + first_fate + ": " +
                             (as_target ? "join target" : "operation") + " moved to " + name;
        const OpKind kind = p_.kind[o];
        if (!as_target && offset && (is_content(kind) || kind == OpKind::block_split))
            reason += " at offset " + std::to_string(*offset);
        conflict(ConflictType::cascading, original, first->remover, o, std::move(reason), false);
        return true;
    }

    bool chase(std::size_t o, std::string& name, std::optional<std::int64_t>& offset, bool as_target) {
        const OpKind kind = p_.kind[o];
        for (;;) {
            const Block* b = find(name);
            if (!removed(b)) return true;
            ticker_.tick();
            std::string next;
            if (b->status == Status::split) {
                if (as_target) {
                    if (policy_ == Policy::merge) next = b->next;  // a join's target starts at the left piece
                } else if (kind == OpKind::block_split || is_content(kind)) {
                    if (!offset) {
                        conflict(ConflictType::cascading, name, b->remover, o,
                                 gone(name, *b) + " and the operation has no offset to place it", true);
                        return false;
                    }
                    if (*offset < b->split_at) {
                        next = b->next;
                    } else {
                        next = b->other;
                        *offset -= b->split_at;
                    }
                } else if (kind == OpKind::block_join && policy_ == Policy::merge) {
                    next = b->other;  // a join's source ends with the right piece
                }
            } else if (b->status == Status::joined_source) {
                if (as_target ? policy_ == Policy::merge
                              : is_content(kind) || (kind == OpKind::block_split && policy_ == Policy::merge))
                    next = b->next;  // the joined block starts with this one's content
            } else if (!as_target && kind == OpKind::block_join && policy_ == Policy::merge) {
                next = b->next;  // joined as target: the joined block ends with it
            }
            if (next.empty()) {
                conflict(ConflictType::cascading, name, b->remover, o,
                         as_target ? "Target block " + name + " no longer exists (" + fate(*b) + ")" : gone(name, *b),
                         true);
                return false;
            }
            name = std::move(next);
        }
    }

    void walk(const std::vector<std::size_t>& app) {
        for (std::size_t o : app) {
            const Operation& op = ops_[o];
            const OpKind kind = p_.kind[o];
            std::string name = op.block_id;
            std::optional<std::int64_t> offset = op.offset;
            if (!follow(o, name, offset, false)) continue;
            std::string target;
            if (op.target_block_id) {
                target = *op.target_block_id;
                std::optional<std::int64_t> none;
                if (kind == OpKind::block_join) {
                    if (!follow(o, target, none, true)) continue;
                    if (target == name) {
                        conflict(ConflictType::cascading, name, kNoOp, o,
                                 "Operation OP_BLOCK_JOIN would join block " + name + " with itself", true);
                        continue;
                    }
                } else if (const Block* t = find(target); removed(t)) {
                    conflict(ConflictType::cascading, target, t->remover, o,
                             "Target block " + target + " no longer exists (" + fate(*t) + ")", true);
                    continue;
                }
            }
            bool deps_ok = true;
            for (const std::string& d : op.dependencies) {
                if (const Block* b = find(d); removed(b)) {
                    conflict(ConflictType::dependency, d, b->remover, o,
                             "Operation " + op.op_code + " depends on block " + d + ", which no longer exists (" +
                                 fate(*b) + ")",
                             true);
                    deps_ok = false;
                    break;
                }
            }
            if (!deps_ok) continue;

            if (kind == OpKind::block_split) {
                std::string left = split_left_id(name);
                std::string right = split_right_id(name);
                check_derived(right, o);
                if (!fresh(o, left) || !fresh(o, right)) continue;
                Block& src = block(name);
                std::vector<Segment> segs = take_segments(name, src);
                src.status = Status::split;
                src.remover = o;
                src.split_at = *offset;
                src.next = left;
                src.other = right;
                split_segments(segs, *offset, block_created(left, o).segs, block_created(right, o).segs);
            } else if (kind == OpKind::block_join) {
                std::string joined = join_result_id(name, target);
                check_derived(joined, o);
                if (!fresh(o, joined)) continue;
                Block& src = block(name);
                Block& tgt = block(target);
                std::vector<Segment> segs = take_segments(name, src);
                std::vector<Segment> tail = take_segments(target, tgt);
                std::optional<i128> shift = length(segs);
                for (Segment& s : tail) {
                    if (s.at && shift && static_cast<i128>(*s.at) + *shift <= INT64_MAX)
                        s.at = static_cast<std::int64_t>(*s.at + *shift);
                    else
                        s.at.reset();
                    segs.push_back(s);
                }
                src.status = Status::joined_source;
                src.remover = o;
                src.next = joined;
                src.other = target;
                tgt.status = Status::joined_target;
                tgt.remover = o;
                tgt.next = joined;
                tgt.other = name;
                count_segments(segs.size());
                block_created(joined, o).segs = std::move(segs);
            } else {
                block(name);
                if (!target.empty()) block(target);
            }
            for (const std::string& d : op.dependencies) block(d);

            AppliedOp a;
            a.op = o;
            if (name != op.block_id) a.block_id = name;
            if (offset != op.offset) a.offset = offset;
            if (op.target_block_id && target != *op.target_block_id) a.target_block_id = target;
            res_.applied.push_back(std::move(a));
        }
    }

    // A split or join may not produce a block id that the walk has already seen.
    bool fresh(std::size_t o, const std::string& id) {
        const Block* b = find(id);
        if (b == nullptr) return true;
        conflict(ConflictType::direct, id, b->origin, o, "Block id collision: block " + id + " already exists", true);
        return false;
    }
    Block& block_created(const std::string& id, std::size_t o) {
        Block& b = block(id);
        b.origin = o;
        return b;
    }

    // Pieces of `segs` before and from offset k.
    void split_segments(const std::vector<Segment>& segs, std::int64_t k, std::vector<Segment>& left,
                        std::vector<Segment>& right) {
        for (const Segment& s : segs) {
            if (!s.at) {  // unknown place: may be on either side
                left.push_back(s);
                right.push_back(s);
                continue;
            }
            const i128 a = *s.at;
            std::optional<i128> end;
            if (s.to) end = a + (static_cast<i128>(*s.to) - s.from);
            if (a < k) {
                i128 stop = end ? std::min<i128>(*end, k) : k;
                if (stop > a) left.push_back(Segment{s.orig, s.from, static_cast<std::int64_t>(s.from + (stop - a)), s.at});
            }
            if (!end || *end > k) {
                i128 begin = std::max<i128>(a, k);
                right.push_back(Segment{s.orig, static_cast<std::int64_t>(s.from + (begin - a)), s.to,
                                        static_cast<std::int64_t>(begin - k)});
            }
        }
        count_segments(left.size() + right.size());
    }

    void finish() {
        for (const auto& [name, b] : blocks_) {
            if (b.origin == kNoOp || b.status != Status::live) continue;
            res_.blocks.push_back(name);
            for (const Segment& s : b.segs)
                res_.mapping[originals_[s.orig]].push_back(MappingEntry{name, s.from, s.to, s.at});
        }
        std::sort(res_.blocks.begin(), res_.blocks.end());
        for (auto& [orig, entries] : res_.mapping) {
            std::sort(entries.begin(), entries.end(), [](const MappingEntry& x, const MappingEntry& y) {
                if (x.from != y.from) return x.from < y.from;
                if (x.to != y.to) return !x.to ? false : (!y.to ? true : *x.to < *y.to);  // to the end last
                if (x.block_id != y.block_id) return x.block_id < y.block_id;
                return x.at < y.at;
            });
        }
        for (const Conflict& c : res_.conflicts) {
            if (c.rejected) res_.rejected.push_back(RejectedOp{c.second, c.type, c.first, c.reason});
        }
        auto rank = [&](std::size_t op) { return op == kNoOp ? n_ : krank_[op]; };
        std::sort(res_.rejected.begin(), res_.rejected.end(), [&](const RejectedOp& x, const RejectedOp& y) {
            return std::make_tuple(rank(x.op), x.type, std::cref(x.reason), rank(x.conflicting)) <
                   std::make_tuple(rank(y.op), y.type, std::cref(y.reason), rank(y.conflicting));
        });
    }

    const Prepared& p_;
    const std::vector<Operation>& ops_;
    Policy policy_;
    std::size_t n_;
    std::vector<std::size_t> order_, time_, krank_, trank_;
    std::vector<char> accepted_;
    std::unordered_map<std::string, Block> blocks_;
    std::vector<std::string> originals_;
    std::unordered_map<std::string, std::uint32_t> original_ids_;
    std::size_t segments_ = 0;
    InterruptTicker ticker_{4096};
    Resolution res_;
};

}  // namespace

Resolution resolve_operations(const std::vector<Operation>& ops, const Priorities& priorities, Policy policy) {
    Prepared p = detail::prepare(ops, priorities);
    return Resolver(p, policy).run();
}

std::vector<Conflict> detect_conflicts(const std::vector<Operation>& ops, const Priorities& priorities) {
    return resolve_operations(ops, priorities, Policy::fail_closed).conflicts;
}

}  // namespace ce::ops
