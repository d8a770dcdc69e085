// The confirm policy of resolve_operations: the conflicts that fail-closed settles by
// rejecting an operation are left to the user as decisions (apply the first, the
// second, both when the merge policy can, or neither), and nothing whose outcome
// depends on a decision is applied.
//
// The resolution runs as fail-closed; confirm() then rewrites its result:
//  * every rejected conflict with two distinct operations becomes a decision (not a
//    duplicate: identical operations are not a choice; not a conflict without a
//    second operation, such as a join of a block with itself);
//  * operations interact only through the blocks they name: blockId, targetBlockId,
//    dependencies, the blocks a split or join of theirs creates (by the naming rule)
//    and, in the walk, the blocks they were moved onto and created there. Those
//    names, joined per operation, split the set into components (union-find); a
//    component holding a party of a decision is undecided;
//  * in an undecided component, the parties are pending, the rest waits; elsewhere
//    the fail-closed outcome stands, and so do the blocks and mapping pieces.
// Operations lacking a member (missing_fields) and duplicates stay rejected: no
// choice applies them.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ops_resolver.hpp"

namespace ce::ops::detail {

namespace {

// Union-find over block names.
class Components {
public:
    std::uint32_t id(const std::string& name) {
        auto [it, inserted] = ids_.try_emplace(name, static_cast<std::uint32_t>(parent_.size()));
        if (inserted) parent_.push_back(it->second);
        return it->second;
    }
    // The component of a name, or nullopt for a name no operation reaches.
    std::optional<std::uint32_t> find(const std::string& name) {
        auto it = ids_.find(name);
        if (it == ids_.end()) return std::nullopt;
        return root(it->second);
    }
    std::uint32_t root(std::uint32_t x) {
        while (parent_[x] != x) {
            parent_[x] = parent_[parent_[x]];
            x = parent_[x];
        }
        return x;
    }
    void join(std::uint32_t a, std::uint32_t b) {
        a = root(a);
        b = root(b);
        if (a != b) parent_[a < b ? b : a] = a < b ? a : b;
    }
    void reserve(std::size_t names) { ids_.reserve(names); }
    // Frees the names, with interrupt checks (millions of them for the largest inputs).
    void clear(InterruptTicker& ticker) { clear_ticking(ids_, ticker); }

private:
    std::unordered_map<std::string, std::uint32_t> ids_;
    std::vector<std::uint32_t> parent_;
};

// Both operations apply when the merge policy resolves them alone (with their
// priorities).
bool both_apply(const Prepared& all, std::size_t first, std::size_t second) {
    std::vector<Operation> pair = {all.op(first), all.op(second)};
    Priorities priorities;
    for (std::size_t i : {first, second}) priorities.set(all.op(i).op_code, all.priority[i]);
    Prepared p = prepare(pair, priorities);
    return Resolver(p, Policy::merge).run().applied.size() == 2;
}

}  // namespace

void Resolver::confirm() {
    const std::size_t n = p_.size();
    Components comps;
    comps.reserve(counts_.named + counts_.deps + counts_.created);
    std::vector<std::uint32_t> node(n);
    for (std::size_t i = 0; i < n; ++i) {
        ticker_.tick();
        const Operation& op = ops_[i];
        node[i] = comps.id(op.block_id);
        auto reach = [&](const std::string& name) { comps.join(node[i], comps.id(name)); };
        if (op.target_block_id) reach(*op.target_block_id);
        for (const std::string& d : op.dependencies) reach(d);
        if (p_.kind[i] == OpKind::block_split) {
            reach(split_left_id(op.block_id));
            reach(split_right_id(op.block_id));
        } else if (p_.kind[i] == OpKind::block_join && op.target_block_id) {
            reach(join_result_id(op.block_id, *op.target_block_id));
        }
    }
    for (const auto& [o, name] : links_) {
        ticker_.tick();
        comps.join(node[o], comps.id(name));
    }

    // How each operation left the fail-closed resolution.
    enum class Fate : unsigned char { applied, rejected_alone, rejected_for_good, rejected_by_conflict };
    std::vector<Fate> fate(n, Fate::applied);
    for (const RejectedOp& x : res_.rejected) {
        ticker_.tick();
        if (!x.type || (x.conflicting != kNoOp && compare_time(p_, x.conflicting, x.op) == 0))
            fate[x.op] = Fate::rejected_for_good;  // lacks a member, or a duplicate
        else
            fate[x.op] = x.conflicting == kNoOp ? Fate::rejected_alone : Fate::rejected_by_conflict;
    }

    // Decisions, and the first decision of each undecided component.
    std::vector<char> party(n, 0);
    std::unordered_map<std::uint32_t, std::size_t> undecided;
    for (const Conflict& c : res_.conflicts) {
        if (!c.rejected || c.first == kNoOp || compare_time(p_, c.first, c.second) == 0) continue;
        ticker_.tick();
        Decision d{c.type, c.block_id, c.first, c.second, c.reason};
        d.can_apply_first = fate[c.first] != Fate::rejected_for_good;
        d.can_apply_second = fate[c.second] != Fate::rejected_for_good;
        const OpKind a = p_.kind[c.first];
        const OpKind b = p_.kind[c.second];
        const bool structural = a == OpKind::block_split || a == OpKind::block_join || b == OpKind::block_split ||
                                b == OpKind::block_join;  // the only pairs that merge treats otherwise
        if (d.can_apply_first && d.can_apply_second && structural) {
            ticker_.tick(32);  // resolving the pair alone: some tens of microseconds
            d.can_apply_both = both_apply(p_, c.first, c.second);
        }
        for (std::size_t i : {c.first, c.second}) {
            party[i] = 1;
            undecided.try_emplace(comps.root(node[i]), res_.pending.size());
        }
        res_.pending.push_back(std::move(d));
    }
    if (res_.pending.empty()) {
        comps.clear(ticker_);
        return;
    }

    auto waits_for = [&](std::size_t i) -> const std::size_t* {
        auto it = undecided.find(comps.root(node[i]));
        return it == undecided.end() ? nullptr : &it->second;
    };
    // Parties that can still apply are pending; the rest of an undecided component waits.
    auto held = [&](std::size_t i) { return fate[i] != Fate::rejected_for_good && (party[i] || waits_for(i)); };
    std::vector<AppliedOp> applied;
    for (AppliedOp& a : res_.applied) {
        ticker_.tick();
        if (!held(a.op)) applied.push_back(std::move(a));
    }
    clear_ticking(res_.applied, ticker_);
    res_.applied = std::move(applied);
    std::vector<RejectedOp> rejected;
    for (RejectedOp& x : res_.rejected) {
        ticker_.tick();
        if (!held(x.op)) rejected.push_back(std::move(x));
    }
    clear_ticking(res_.rejected, ticker_);
    res_.rejected = std::move(rejected);
    for (std::size_t i : order_) {
        ticker_.tick();
        if (!held(i) || party[i]) continue;
        res_.waiting.push_back(WaitingOp{i, *waits_for(i)});
    }

    // Blocks and mapping pieces of undecided components depend on the decisions.
    auto settled = [&](const std::string& name) {
        std::optional<std::uint32_t> c = comps.find(name);
        return !c || undecided.find(*c) == undecided.end();
    };
    std::vector<std::string> blocks;
    for (std::string& b : res_.blocks) {
        ticker_.tick();
        if (settled(b)) blocks.push_back(std::move(b));
    }
    clear_ticking(res_.blocks, ticker_);
    res_.blocks = std::move(blocks);
    for (auto it = res_.mapping.begin(); it != res_.mapping.end();) {
        ticker_.tick(1 + it->second.size());
        if (settled(it->first)) ++it;
        else it = res_.mapping.erase(it);
    }
    comps.clear(ticker_);
}

}  // namespace ce::ops::detail
