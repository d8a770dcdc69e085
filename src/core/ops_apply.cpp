// Phase 2 of resolve_operations: the application walk (remapping onto the blocks
// that splits and joins produce, cascading conflicts) and the block mapping. See
// ops_resolve.cpp for the model and ops_resolver.hpp for the class.
#include <algorithm>
#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ops_resolver.hpp"

namespace ce::ops::detail {

// Follows the replacements of the block an operation names: one cascading
// conflict (outcome remapped) naming the first replacement and the final block.
// Returns false (after recording the rejection) when the operation cannot be moved.
bool Resolver::follow(std::size_t o, std::string& name, std::optional<std::int64_t>& offset, bool as_target) {
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

bool Resolver::chase(std::size_t o, std::string& name, std::optional<std::int64_t>& offset, bool as_target) {
    const OpKind kind = p_.kind[o];
    const BlockEntry* e = find_entry(name);
    for (;;) {
        const Block* b = e == nullptr ? nullptr : &e->second;
        if (!removed(b)) break;
        ticker_.tick();
        const std::string& at = e->first;
        const BlockEntry* next = nullptr;
        if (b->status == Status::split) {
            if (as_target) {
                if (policy_ == Policy::merge) next = b->next;  // a join's target starts at the left piece
            } else if (kind == OpKind::block_split || is_content(kind)) {
                if (!offset) {
                    conflict(ConflictType::cascading, at, b->remover, o,
                             gone(at, *b) + " and the operation has no offset to place it", true);
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
        if (next == nullptr) {
            conflict(ConflictType::cascading, at, b->remover, o,
                     as_target ? "Target block " + at + " no longer exists (" + fate(*b) + ")" : gone(at, *b), true);
            return false;
        }
        e = next;
    }
    if (e != nullptr) name = e->first;
    return true;
}

void Resolver::walk(const std::vector<std::size_t>& app) {
    // The buckets of these tables are not charged (8 bytes an entry); their entries
    // are, as they are made (block(), original_id()).
    blocks_.reserve(counts_.named + counts_.deps + counts_.created);
    original_ids_.reserve(counts_.removed);
    for (std::size_t o : app) {
        const Operation& op = ops_[o];
        ticker_.tick(8 + op.dependencies.size());  // hash lookups, strings, mapping pieces: microseconds
        const OpKind kind = p_.kind[o];
        std::string name = op.block_id;
        std::optional<std::int64_t> offset = op.offset;
        if (!follow(o, name, offset, false)) continue;
        link(o, name);
        std::string target;
        if (op.target_block_id) {
            target = *op.target_block_id;
            std::optional<std::int64_t> none;
            if (kind == OpKind::block_join) {
                if (!follow(o, target, none, true)) continue;
                link(o, target);
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
            link(o, left);
            link(o, right);
            if (!fresh(o, left) || !fresh(o, right)) continue;
            Block& src = block(name);
            std::vector<Segment> segs = take_segments(name, src);
            BlockEntry& l = block_created(left, o);
            BlockEntry& r = block_created(right, o);
            src.status = Status::split;
            src.remover = o;
            src.split_at = *offset;
            src.next = &l;
            src.other = &r;
            split_segments(segs, *offset, l.second.segs, r.second.segs);
        } else if (kind == OpKind::block_join) {
            std::string joined = join_result_id(name, target);
            check_derived(joined, o);
            link(o, joined);
            if (!fresh(o, joined)) continue;
            BlockEntry& src_entry = entry(name);
            BlockEntry& tgt_entry = entry(target);
            Block& src = src_entry.second;
            Block& tgt = tgt_entry.second;
            std::vector<Segment> segs = take_segments(name, src);
            std::vector<Segment> tail = take_segments(target, tgt);
            std::optional<i128> shift = length(segs);
            ticker_.tick(segs.size() + tail.size());
            for (Segment& s : tail) {
                if (s.at && shift && static_cast<i128>(*s.at) + *shift <= INT64_MAX)
                    s.at = static_cast<std::int64_t>(*s.at + *shift);
                else
                    s.at.reset();
                segs.push_back(s);
            }
            BlockEntry& j = block_created(joined, o);
            src.status = Status::joined_source;
            src.remover = o;
            src.next = &j;
            src.other = &tgt_entry;
            tgt.status = Status::joined_target;
            tgt.remover = o;
            tgt.next = &j;
            tgt.other = &src_entry;
            count_segments(segs.size());
            j.second.segs = std::move(segs);
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

// Pieces of `segs` before and from offset k.
void Resolver::split_segments(const std::vector<Segment>& segs, std::int64_t k, std::vector<Segment>& left,
                              std::vector<Segment>& right) {
    ticker_.tick(segs.size());
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

void Resolver::finish() {
    for (const auto& [name, b] : blocks_) {
        ticker_.tick();
        if (b.origin == kNoOp || b.status != Status::live) continue;
        account(string_cost(name) + sizeof(std::string));  // the name, and its room in a growing list
        res_.blocks.push_back(name);
        for (const Segment& s : b.segs) {
            ticker_.tick();
            // The entry (and its room in a growing list), and a new original's tree node.
            auto [it, inserted] = res_.mapping.try_emplace(originals_[s.orig]);
            account(2 * sizeof(MappingEntry) + memory::string_bytes(name.size()) +
                    (inserted ? memory::malloc_size(sizeof(*it) + 4 * sizeof(void*)) + memory::string_bytes(it->first.size())
                              : 0));
            it->second.push_back(MappingEntry{name, s.from, s.to, s.at});
        }
    }
    std::sort(res_.blocks.begin(), res_.blocks.end(), [this](const std::string& x, const std::string& y) {
        ticker_.tick();
        return x < y;
    });
    for (auto& [orig, entries] : res_.mapping) {
        ticker_.tick();
        std::sort(entries.begin(), entries.end(), [this](const MappingEntry& x, const MappingEntry& y) {
            ticker_.tick();
            if (x.from != y.from) return x.from < y.from;
            if (x.to != y.to) return !x.to ? false : (!y.to ? true : *x.to < *y.to);  // to the end last
            if (x.block_id != y.block_id) return x.block_id < y.block_id;
            return x.at < y.at;
        });
    }
    for (const Conflict& c : res_.conflicts) {
        ticker_.tick();
        if (c.rejected) res_.rejected.push_back(RejectedOp{c.second, c.type, c.first, c.reason});
    }
    auto rank = [&](std::size_t op) { return op == kNoOp ? n_ : krank_[op]; };
    std::sort(res_.rejected.begin(), res_.rejected.end(), [&](const RejectedOp& x, const RejectedOp& y) {
        ticker_.tick();
        return std::make_tuple(rank(x.op), x.type, std::cref(x.reason), rank(x.conflicting)) <
               std::make_tuple(rank(y.op), y.type, std::cref(y.reason), rank(y.conflicting));
    });
}

}  // namespace ce::ops::detail
