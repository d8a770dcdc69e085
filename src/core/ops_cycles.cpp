// Dependency cycles among operations (ops.cpp's validation).
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/ops.hpp"
#include "ops_internal.hpp"

namespace ce::ops::detail {

// Operations of a dependency cycle named in its error (message and DETAIL).
constexpr std::size_t kCycleListed = 16;

// Dependency cycles: op R needs the blocks it names (blockId, targetBlockId,
// dependencies); a block is provided by the operations that create it (splits and
// joins, by the static naming rule). A cycle in this graph cannot be applied in any
// order. Depth-first search over ops and block names (O(ops + references)). Returns
// the error to throw, if any (the caller frees its tables first, with checks).
std::optional<Error> check_cycles(const Prepared& p) {
    if (p.creators.empty()) return std::nullopt;
    const std::size_t n = p.size();
    std::unordered_map<std::string_view, std::uint32_t> name_id;
    name_id.reserve(p.creators.size());
    std::vector<const std::vector<std::size_t>*> name_creators;
    std::vector<std::string_view> names;
    InterruptTicker ticker;
    for (const auto& [name, ops] : p.creators) {
        ticker.tick();
        name_id.emplace(name, static_cast<std::uint32_t>(names.size()));
        names.push_back(name);
        name_creators.push_back(&ops);
    }
    // Needs of each op: name nodes (n + id).
    std::vector<std::size_t> start(n + 1, 0);
    std::vector<std::size_t> edges;
    auto add_need = [&](std::string_view name) {
        auto it = name_id.find(name);
        if (it != name_id.end()) edges.push_back(n + it->second);
    };
    for (std::size_t i = 0; i < n; ++i) {
        ticker.tick();
        const Operation& op = p.op(i);
        add_need(op.block_id);
        if (op.target_block_id) add_need(*op.target_block_id);
        for (const std::string& d : op.dependencies) {
            ticker.tick();
            add_need(d);
        }
        start[i + 1] = edges.size();
    }
    auto out_edges = [&](std::size_t node) -> std::pair<const std::size_t*, std::size_t> {
        if (node < n) return {edges.data() + start[node], start[node + 1] - start[node]};
        const auto& cs = *name_creators[node - n];
        return {cs.data(), cs.size()};
    };
    enum : unsigned char { white, gray, black };
    std::vector<unsigned char> color(n + names.size(), white);
    std::vector<std::pair<std::size_t, std::size_t>> stack;  // node, next edge
    for (std::size_t root = 0; root < n; ++root) {
        if (color[root] != white) continue;
        color[root] = gray;
        stack.emplace_back(root, 0);
        while (!stack.empty()) {
            ticker.tick();
            auto& [node, next] = stack.back();
            auto [targets, count] = out_edges(node);
            if (next == count) {
                color[node] = black;
                stack.pop_back();
                continue;
            }
            std::size_t to = targets[next++];
            if (color[to] == white) {
                color[to] = gray;
                stack.emplace_back(to, 0);
                continue;
            }
            if (color[to] == black) continue;
            // A cycle: the stack from `to` to the top.
            std::size_t from = 0;
            while (stack[from].first != to) ++from;
            std::vector<std::size_t> cycle;
            for (std::size_t k = from; k < stack.size(); ++k) cycle.push_back(stack[k].first);
            if (cycle.front() >= n) std::rotate(cycle.begin(), cycle.begin() + 1, cycle.end());  // start at an op
            // The message and the DETAIL name the first kCycleListed operations of a
            // longer cycle, and its length (a cycle of 200,000 made an 18 MB message).
            const std::size_t length = cycle.size() / 2;
            const std::size_t listed = std::min(length, kCycleListed);
            std::string message = "dependency cycle";
            if (listed < length) message += " of " + std::to_string(length) + " operations";
            message += ": " + detail::describe(p, cycle[0]);
            std::string numbers;  // the operations of the cycle, numbered from 1
            for (std::size_t k = 0; k < 2 * listed; k += 2) {
                ticker.tick();
                std::size_t name = cycle[k + 1] - n;
                std::size_t next_op = cycle[(k + 2) % cycle.size()];
                message += (k == 0 ? " needs block \"" : ", which needs block \"") + excerpt(names[name]) +
                           "\", created by " + detail::describe(p, next_op);
                numbers += (numbers.empty() ? "" : ", ") + std::to_string(cycle[k] + 1);
            }
            if (listed < length)
                message += ", ... back to operation " + std::to_string(cycle[0] + 1);
            clear_ticking(name_id, ticker);
            return Error(Errc::dependency_cycle, message,
                         Detail().add_json("cycle", "[" + numbers + "]").add("cycle_length", length),
                         "An operation cannot need a block that it creates itself, directly or through other operations.");
        }
    }
    clear_ticking(name_id, ticker);
    return std::nullopt;
}

}  // namespace ce::ops::detail
