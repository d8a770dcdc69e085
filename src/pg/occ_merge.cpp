// The UPDATE actions of running MERGE statements (see occ_merge.hpp).
#include "pg/occ_merge.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "pg/boundary.hpp"

namespace ce::pg {
namespace {

struct Running {
    QueryDesc* query;
    int level;  // the subtransaction nesting level it started in
    bool merge;
    std::vector<Oid> targets;                       // the tables it modifies (partitions and their root)
    std::vector<std::vector<std::string>> updates;  // per UPDATE action: the columns it sets
};

// Plain data freed with the process: no PostgreSQL memory, no destructor that runs
// during an error.
std::vector<Running>* running = nullptr;
ExecutorStart_hook_type prev_start = nullptr;
ExecutorEnd_hook_type prev_end = nullptr;

// The tables a statement modifies, and for a MERGE the columns each of its UPDATE
// actions sets, by name.
void note_statement(PlannedStmt* stmt, Running& r) {
    ListCell* rl;
    foreach (rl, stmt->resultRelations) r.targets.push_back(rt_fetch(lfirst_int(rl), stmt->rtable)->relid);
    Plan* plan = stmt->planTree;
    if (plan == nullptr || !IsA(plan, ModifyTable)) return;
    auto* mt = reinterpret_cast<ModifyTable*>(plan);
    if (mt->rootRelation > 0) r.targets.push_back(rt_fetch(mt->rootRelation, stmt->rtable)->relid);
    if (!r.merge) return;
    ListCell* al;
    forboth (rl, mt->resultRelations, al, mt->mergeActionLists) {
        Oid relid = rt_fetch(lfirst_int(rl), stmt->rtable)->relid;
        ListCell* lc;
        foreach (lc, reinterpret_cast<List*>(lfirst(al))) {
            auto* action = reinterpret_cast<MergeAction*>(lfirst(lc));
            if (action->commandType != CMD_UPDATE) continue;
            std::vector<std::string> columns;
            ListCell* c;
            foreach (c, action->updateColnos) {
                AttrNumber att = static_cast<AttrNumber>(lfirst_int(c));
                columns.emplace_back(pg_call([relid, att] { return get_attname(relid, att, false); }));
            }
            r.updates.push_back(std::move(columns));
        }
    }
}

void on_start(QueryDesc* q, int eflags) {
    if (prev_start)
        prev_start(q, eflags);
    else
        standard_ExecutorStart(q, eflags);
    guard([q] {
        Running r{q, GetCurrentTransactionNestLevel(), q->operation == CMD_MERGE, {}, {}};
        note_statement(q->plannedstmt, r);
        running->push_back(std::move(r));
        return Datum(0);
    });
}

void on_end(QueryDesc* q) {
    // Only its own entry: one started after it may still run (a cursor opened
    // before a MERGE and closed during it ended the MERGE's entry with its own).
    auto it = std::find_if(running->rbegin(), running->rend(), [q](const Running& r) { return r.query == q; });
    if (it != running->rend()) running->erase(std::next(it).base());
    if (prev_end)
        prev_end(q);
    else
        standard_ExecutorEnd(q);
}

// An error ends executors without ExecutorEnd: their entries go with their
// (sub)transaction. No executor outlives its transaction running (a cursor kept
// past it was run to its end), so none is left after a commit either.
void on_xact(XactEvent, void*) { running->clear(); }
void on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
    if (event != SUBXACT_EVENT_ABORT_SUB) return;
    int level = GetCurrentTransactionNestLevel();
    running->erase(std::remove_if(running->begin(), running->end(), [level](const Running& r) { return r.level >= level; }),
                   running->end());
}

}  // namespace

void install_merge_tracking() {
    running = new std::vector<Running>();
    prev_start = ExecutorStart_hook;
    ExecutorStart_hook = on_start;
    prev_end = ExecutorEnd_hook;
    ExecutorEnd_hook = on_end;
    RegisterXactCallback(on_xact, nullptr);
    RegisterSubXactCallback(on_subxact, nullptr);
}

MergeSets merge_sets_column(Oid relid, const std::string& column) {
    // The executor modifying the table (a partition: its root, through which a
    // MERGE may reach it): the latest started that does, not simply the latest
    // (a cursor or a function's query started during the MERGE may still be open).
    std::vector<Oid> tables{relid};
    List* up = pg_call([relid] { return get_rel_relispartition(relid) ? get_partition_ancestors(relid) : NIL; });
    ListCell* lc;
    foreach (lc, up) tables.push_back(lfirst_oid(lc));
    auto modifies = [&tables](const Running& r) {
        for (Oid t : tables)
            if (std::find(r.targets.begin(), r.targets.end(), t) != r.targets.end()) return true;
        return false;
    };
    const Running* found = nullptr;
    std::optional<Running> loaded;  // the statement that loaded the library
    if (running != nullptr)
        for (auto it = running->rbegin(); it != running->rend() && found == nullptr; ++it)
            if (modifies(*it)) found = &*it;
    if (found == nullptr) {
        // Started before the library was loaded (its trigger loaded it): a MERGE sent
        // as such is read from the portal's plan; one run by a function is not seen.
        Portal p = ActivePortal;
        if (p == nullptr || p->commandTag != CMDTAG_MERGE) return MergeSets::not_merge;
        if (list_length(p->stmts) != 1 || !IsA(linitial(p->stmts), PlannedStmt)) return MergeSets::unknown;
        loaded = Running{nullptr, 0, true, {}, {}};
        note_statement(linitial_node(PlannedStmt, p->stmts), *loaded);
        if (!modifies(*loaded)) return MergeSets::not_merge;
        found = &*loaded;
    }
    if (!found->merge) return MergeSets::not_merge;
    for (const auto& action : found->updates)
        if (std::find(action.begin(), action.end(), column) == action.end()) return MergeSets::not_every;
    return MergeSets::every;
}

}  // namespace ce::pg
