// Three-way merge of JSON values. Semantics: docs/reference/json_merge.md.
#include "concurrent_edit/json_merge.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"

namespace ce::json {

ArrayMode parse_array_mode(std::string_view name) {
    if (name == "auto") return ArrayMode::auto_;
    if (name == "id") return ArrayMode::by_id;
    if (name == "sequence") return ArrayMode::sequence;
    if (name == "atomic") return ArrayMode::atomic;
    throw Error(Errc::invalid_parameter, "unknown array_mode \"" + excerpt(name) + "\"",
                Detail().add("argument", "array_mode").add("value", name),
                "array_mode is one of: auto, id, sequence, atomic.");
}

const char* array_mode_name(ArrayMode mode) noexcept {
    switch (mode) {
        case ArrayMode::auto_: return "auto";
        case ArrayMode::by_id: return "id";
        case ArrayMode::sequence: return "sequence";
        case ArrayMode::atomic: return "atomic";
    }
    return "unknown";
}

const char* conflict_kind_name(ConflictKind kind) noexcept {
    switch (kind) {
        case ConflictKind::modify_modify: return "modify/modify";
        case ConflictKind::delete_modify: return "delete/modify";
        case ConflictKind::add_add: return "add/add";
        case ConflictKind::sequence: return "sequence";
        case ConflictKind::order: return "order";
    }
    return "unknown";
}

Value path_to_value(const Path& path) {
    std::vector<Value> steps;
    steps.reserve(path.size());
    for (const PathStep& s : path) {
        switch (s.kind) {
            case PathStep::Kind::key: steps.push_back(Value::string(s.key)); break;
            case PathStep::Kind::index: steps.push_back(Value::number(static_cast<long long>(s.index))); break;
            case PathStep::Kind::id: steps.push_back(Value::object({Member{"id", s.id}})); break;
        }
    }
    return Value::array(std::move(steps));
}

Value conflicts_to_value(const std::vector<Conflict>& conflicts) {
    std::vector<Value> out;
    out.reserve(conflicts.size());
    InterruptTicker ticker;
    for (const Conflict& c : conflicts) {
        ticker.tick(1 + c.path.size());
        std::vector<Member> m;
        m.push_back({"path", path_to_value(c.path)});
        m.push_back({"kind", Value::string(conflict_kind_name(c.kind))});
        if (c.base) m.push_back({"base", *c.base});
        if (c.ours) m.push_back({"ours", *c.ours});
        if (c.theirs) m.push_back({"theirs", *c.theirs});
        out.push_back(Value::object(std::move(m)));
    }
    return Value::array(std::move(out));
}

namespace {

struct ValueHash {
    std::size_t operator()(const Value& v) const noexcept { return static_cast<std::size_t>(v.hash()); }
};
struct ValueEq {
    bool operator()(const Value& a, const Value& b) const { return a == b; }
};
template <typename T>
using ValueMap = std::unordered_map<Value, T, ValueHash, ValueEq>;

// The working set of an array merge besides its result, per element of the three
// sides, charged up front. Both modes hold a node and a bucket of a hash map (ids by
// value, or elements by id) and an output slot. A merge by sequence adds the id
// sequence and the diff's match entry; a merge by id adds the positions of each
// element on the other two sides, its place in the order sequences and its merged
// value.
constexpr std::size_t kMapEntry = memory::hash_node_bytes(sizeof(Value) + sizeof(long)) + sizeof(void*);
constexpr std::size_t kSequenceWork = kMapEntry + sizeof(Value) + sizeof(int) + sizeof(long);
constexpr std::size_t kByIdWork = kMapEntry + sizeof(Value) + 3 * sizeof(long) + sizeof(std::optional<Value>);

// A scalar id usable to match array elements: string, number or boolean.
const Value* element_id(const Value& v) {
    const Value* id = v.find("id");
    return id != nullptr && (id->is_string() || id->is_number() || id->is_bool()) ? id : nullptr;
}

// id -> index of the element with that id.
using IdIndex = ValueMap<std::size_t>;

// Every element is an object with a scalar "id", unique within the array: fills `index`.
bool index_ids(const Value& array, IdIndex& index, InterruptTicker& ticker) {
    index.reserve(array.items().size());
    for (std::size_t i = 0; i < array.items().size(); ++i) {
        ticker.tick();
        const Value* id = element_id(array.items()[i]);
        if (id == nullptr || !index.emplace(*id, i).second) return false;
    }
    return true;
}

// A hunk of a diff of an array against its base: base [bs, be) became side [ss, se).
// A replacement by more elements is split into a replacement of as many elements and
// an insertion after it (`cont`), so that an element appended right after a changed
// one still counts as appended: both sides' appends then keep ours first.
struct Hunk {
    long bs, be, ss, se;
    bool cont = false;  // the insertion part of a split replacement
};

std::vector<Hunk> hunks_of(const std::vector<long>& match, long side_size) {
    std::vector<Hunk> out;
    const long n = static_cast<long>(match.size());
    long i = 0, j = 0;
    while (i < n || j < side_size) {
        if (i < n && match[i] == j) {
            ++i, ++j;
            continue;
        }
        Hunk h{i, i, j, j};
        while (i < n && match[i] < 0) ++i;
        h.be = i;
        h.se = j = i < n ? match[i] : side_size;
        const long replaced = h.be - h.bs;
        if (replaced > 0 && h.se - h.ss > replaced) {
            out.push_back(Hunk{h.bs, h.be, h.ss, h.ss + replaced});
            out.push_back(Hunk{h.be, h.be, h.ss + replaced, h.se, true});
        } else {
            out.push_back(h);
        }
    }
    return out;
}

// Do hunks from different sides touch the same part of the base? Insertions at one
// point overlap; an insertion overlaps a range only strictly inside it; adjacent
// ranges do not overlap.
bool overlaps(long gs, long ge, const Hunk& h) {
    if (gs == ge) return h.bs == gs && h.be == gs;
    if (h.bs == h.be) return gs < h.bs && h.bs < ge;
    return h.bs < ge && gs < h.be;
}

// More conflicts than this inside the elements of one array merged as a sequence are
// reported as a single "sequence" conflict at the array.
constexpr std::size_t kMaxElementConflicts = 100;

class Merger {
public:
    explicit Merger(ArrayMode mode) : mode_(mode) {}

    std::vector<Conflict> conflicts;
    memory::Charge charge;  // of `conflicts` (MergeResult::conflicts_charge)

    // Merges two present sides; `b` nullptr when the base has no value here.
    Value merge(const Value* b, const Value& o, const Value& t) {
        ticker_.tick();
        if (b != nullptr) {
            // Unchanged (even in spelling) on one side: the other side's value, exactly.
            if (identical(*b, o)) return t;
            if (identical(*b, t)) return o;
            // Numbers compare by value: a side that only re-spelled one did not change it.
            if (*b == t) return o;
            if (*b == o) return t;
        }
        if (o == t) return o;
        if (o.is_object() && t.is_object() && (b == nullptr || b->is_object())) return merge_object(b, o, t);
        if (o.is_array() && t.is_array() && (b == nullptr || b->is_array())) {
            const std::size_t n = (b != nullptr ? b->items().size() : 0) + o.items().size() + t.items().size();
            memory::Charge work;
            if (mode_ == ArrayMode::sequence) {
                work.resize(kSequenceWork * n);
                if (b != nullptr) return merge_sequence(*b, o, t);
            } else if (mode_ != ArrayMode::atomic) {
                work.resize(kByIdWork * n);
                IdIndex bi, oi, ti;
                const bool by_id = (b == nullptr || index_ids(*b, bi, ticker_)) && index_ids(o, oi, ticker_) &&
                                   index_ids(t, ti, ticker_);
                Value v = by_id ? merge_by_id(b, o, t, bi, oi, ti) : Value();
                for (IdIndex* index : {&bi, &oi, &ti}) clear_ticking(*index, ticker_);
                if (by_id) return v;
                work.resize(kSequenceWork * n);
                if (mode_ == ArrayMode::auto_ && b != nullptr) return merge_sequence(*b, o, t);
            }
        }
        conflict(b != nullptr ? ConflictKind::modify_modify : ConflictKind::add_add, b, &o, &t);
        return o;
    }

private:
    // Records a conflict at the current path; `at` places it before conflicts already
    // recorded inside this value (an array's own conflict before its elements').
    void conflict(ConflictKind kind, const Value* b, const Value* o, const Value* t,
                  std::size_t at = static_cast<std::size_t>(-1)) {
        // Charged before the copies are made: the path's steps and keys, and the
        // vector's growth (the values charge their own copies).
        std::size_t bytes = path_bytes(path_);
        std::size_t cap = conflicts.capacity();
        if (conflicts.size() == cap) {
            cap = cap == 0 ? 8 : 2 * cap;
            bytes += memory::vector_bytes(cap, sizeof(Conflict)) - memory::vector_bytes(conflicts.capacity(), sizeof(Conflict));
        }
        charge.resize(charge.bytes() + bytes);
        conflicts.reserve(cap);
        Conflict c;
        c.path = path_;
        c.kind = kind;
        if (b != nullptr) c.base = *b;
        if (o != nullptr) c.ours = *o;
        if (t != nullptr) c.theirs = *t;
        conflicts.insert(conflicts.begin() + static_cast<long>(std::min(at, conflicts.size())), std::move(c));
    }

    // What a copy of `path` takes (conflict charges it, drop_conflicts gives it back).
    static std::size_t path_bytes(const Path& path) {
        std::size_t bytes = memory::vector_bytes(path.size(), sizeof(PathStep));
        for (const PathStep& s : path) bytes += memory::string_bytes(s.key.size());
        return bytes;
    }

    // Drops the conflicts from `mark` on, and their paths' charge.
    void drop_conflicts(std::size_t mark) {
        std::size_t bytes = 0;
        for (std::size_t k = mark; k < conflicts.size(); ++k) bytes += path_bytes(conflicts[k].path);
        conflicts.resize(mark);
        charge.resize(charge.bytes() - std::min(bytes, charge.bytes()));
    }

    void conflict_at(PathStep step, ConflictKind kind, const Value* b, const Value* o, const Value* t) {
        path_.push_back(std::move(step));
        conflict(kind, b, o, t);
        path_.pop_back();
    }

    Value child(PathStep step, const Value* b, const Value& o, const Value& t) {
        path_.push_back(std::move(step));
        Value v = merge(b, o, t);
        path_.pop_back();
        return v;
    }

    static PathStep key_step(const std::string& key) {
        PathStep s;
        s.kind = PathStep::Kind::key;
        s.key = key;
        return s;
    }
    static PathStep index_step(std::size_t index) {
        PathStep s;
        s.kind = PathStep::Kind::index;
        s.index = index;
        return s;
    }
    static PathStep id_step(const Value& id) {
        PathStep s;
        s.kind = PathStep::Kind::id;
        s.id = id;
        return s;
    }

    // ------------------------------------------------------------------ objects
    Value merge_object(const Value* b, const Value& o, const Value& t) {
        static const std::vector<Member> none;
        const auto& bm = b != nullptr ? b->members() : none;
        const auto& om = o.members();
        const auto& tm = t.members();
        std::size_t i = 0, j = 0, k = 0;
        std::vector<Member> out;
        out.reserve(std::max(om.size(), tm.size()));
        while (i < bm.size() || j < om.size() || k < tm.size()) {
            ticker_.tick();
            const std::string* key = nullptr;
            for (const std::string* c : {i < bm.size() ? &bm[i].key : nullptr, j < om.size() ? &om[j].key : nullptr,
                                         k < tm.size() ? &tm[k].key : nullptr})
                if (c != nullptr && (key == nullptr || key_less(*c, *key))) key = c;
            const std::string name = *key;
            const Value* bv = i < bm.size() && bm[i].key == name ? &bm[i++].value : nullptr;
            const Value* ov = j < om.size() && om[j].key == name ? &om[j++].value : nullptr;
            const Value* tv = k < tm.size() && tm[k].key == name ? &tm[k++].value : nullptr;
            if (ov != nullptr && tv != nullptr) {
                out.push_back({name, child(key_step(name), bv, *ov, *tv)});
            } else if (ov != nullptr) {  // theirs deleted it, or ours added it
                if (bv == nullptr) {
                    out.push_back({name, *ov});
                } else if (!(*bv == *ov)) {
                    conflict_at(key_step(name), ConflictKind::delete_modify, bv, ov, nullptr);
                    out.push_back({name, *ov});
                }
            } else if (tv != nullptr) {  // ours deleted it, or theirs added it
                if (bv == nullptr) {
                    out.push_back({name, *tv});
                } else if (!(*bv == *tv)) {
                    conflict_at(key_step(name), ConflictKind::delete_modify, bv, nullptr, tv);
                }
            }
            // only in base: deleted on both sides
        }
        return Value::object(std::move(out));
    }

    // ------------------------------------------------------------------ sequences
    Value merge_sequence(const Value& b, const Value& o, const Value& t) {
        const auto& B = b.items();
        const auto& O = o.items();
        const auto& T = t.items();
        ValueMap<int> intern;
        intern.reserve(B.size() + O.size() + T.size());
        auto ids = [&](const std::vector<Value>& xs) {
            std::vector<int> out;
            out.reserve(xs.size());
            for (const Value& x : xs) {
                ticker_.tick();
                out.push_back(intern.emplace(x, static_cast<int>(intern.size())).first->second);
            }
            return out;
        };
        const std::vector<int> ib = ids(B), io = ids(O), it = ids(T);
        clear_ticking(intern, ticker_);
        const std::vector<Hunk> ho = hunks_of(diff_match(ib, io), static_cast<long>(O.size()));
        const std::vector<Hunk> ht = hunks_of(diff_match(ib, it), static_cast<long>(T.size()));

        const std::size_t mark = conflicts.size();
        bool overlapping = false;  // an overlapping change: a "sequence" conflict
        bool too_many = false;     // more element conflicts than kMaxElementConflicts
        std::vector<Value> out;
        out.reserve(std::max(O.size(), T.size()));
        long cursor = 0, off_o = 0, off_t = 0;  // side index = base index + offset outside hunks
        auto copy_stable = [&](long upto) {
            for (; cursor < upto; ++cursor) {
                ticker_.tick();
                const Value& bo = O[static_cast<std::size_t>(cursor + off_o)];
                out.push_back(identical(B[cursor], bo) ? T[static_cast<std::size_t>(cursor + off_t)] : bo);
            }
        };
        auto emit = [&](const std::vector<Value>& side, long from, long to) {
            ticker_.tick(static_cast<std::size_t>(to - from));
            out.insert(out.end(), side.begin() + from, side.begin() + to);
        };
        auto same = [&](long os, long oe, long ts) {  // O[os, oe) == T[ts, ...)
            for (long x = 0; x < oe - os; ++x) {
                ticker_.tick();
                if (!(O[os + x] == T[ts + x])) return false;
            }
            return true;
        };
        std::size_t p = 0, q = 0;
        while (p < ho.size() || q < ht.size()) {
            ticker_.tick();
            // The next group: the first hunk and every hunk of either side overlapping it.
            auto next_is_ours = [&] {
                if (q >= ht.size()) return true;
                if (p >= ho.size()) return false;
                return std::make_pair(ho[p].bs, ho[p].be) <= std::make_pair(ht[q].bs, ht[q].be);
            };
            const std::size_t p0 = p, q0 = q;
            const Hunk& first = next_is_ours() ? ho[p++] : ht[q++];
            long gs = first.bs, ge = first.be;
            for (;;) {
                if (p >= ho.size() && q >= ht.size()) break;
                const bool ours = next_is_ours();
                const Hunk& h = ours ? ho[p] : ht[q];
                if (!overlaps(gs, ge, h)) break;
                ge = std::max(ge, h.be);
                (ours ? p : q)++;
            }
            copy_stable(gs);
            const long os = gs + off_o, ts = gs + off_t;
            for (std::size_t x = p0; x < p; ++x) off_o += (ho[x].se - ho[x].ss) - (ho[x].be - ho[x].bs);
            for (std::size_t x = q0; x < q; ++x) off_t += (ht[x].se - ht[x].ss) - (ht[x].be - ht[x].bs);
            const long oe = ge + off_o, te = ge + off_t;
            if (q == q0) {
                emit(O, os, oe);
            } else if (p == p0) {
                emit(T, ts, te);
            } else if (oe - os == te - ts && same(os, oe, ts)) {
                emit(O, os, oe);  // the same change on both sides
            } else if (gs == ge) {
                emit(O, os, oe);  // both inserted here: ours first, then theirs
                emit(T, ts, te);
            } else if (ge - gs == oe - os && ge - gs == te - ts && !too_many) {
                // Both replaced the same elements one for one: merge them pairwise
                // (stopping, with ours, once there are too many conflicts to list).
                for (long x = 0; x < ge - gs; ++x) {
                    if (conflicts.size() - mark > kMaxElementConflicts) {
                        overlapping = too_many = true;
                        emit(O, os + x, oe);
                        break;
                    }
                    out.push_back(child(index_step(out.size()), &B[gs + x], O[os + x], T[ts + x]));
                }
            } else {
                overlapping = true;
                emit(O, os, oe);
                // Content keeps ours here: the rest of theirs' split replacement goes too.
                if (q < ht.size() && ht[q].cont) {
                    off_t += ht[q].se - ht[q].ss;
                    ++q;
                }
            }
            cursor = ge;
        }
        copy_stable(static_cast<long>(B.size()));
        if (overlapping) {
            // One conflict for the array; too many element conflicts are not listed.
            if (too_many) drop_conflicts(mark);
            conflict(ConflictKind::sequence, &b, &o, &t, mark);
        }
        return Value::array(std::move(out));
    }

    // ------------------------------------------------------------------ arrays by id
    Value merge_by_id(const Value* b, const Value& o, const Value& t, const IdIndex& bi, const IdIndex& oi,
                      const IdIndex& ti) {
        static const std::vector<Value> none;
        const auto& B = b != nullptr ? b->items() : none;
        const auto& O = o.items();
        const auto& T = t.items();
        // Where each element's id is on the other sides (-1: absent).
        auto where = [this](const std::vector<Value>& xs, const IdIndex& index) {
            std::vector<long> at(xs.size());
            for (std::size_t i = 0; i < xs.size(); ++i) {
                ticker_.tick();
                auto it = index.find(*element_id(xs[i]));
                at[i] = it == index.end() ? -1 : static_cast<long>(it->second);
            }
            return at;
        };
        const std::vector<long> o_in_b = where(O, bi), o_in_t = where(O, ti);
        const std::vector<long> t_in_b = where(T, bi), t_in_o = where(T, oi);

        // Order: the relative order of the elements present on all three sides, as
        // base indexes in each side's order.
        std::vector<long> seq_b, seq_o, seq_t;
        ticker_.tick(O.size() + T.size());
        for (std::size_t i = 0; i < O.size(); ++i)
            if (o_in_b[i] >= 0 && o_in_t[i] >= 0) seq_o.push_back(o_in_b[i]);
        for (std::size_t j = 0; j < T.size(); ++j)
            if (t_in_b[j] >= 0 && t_in_o[j] >= 0) seq_t.push_back(t_in_b[j]);
        seq_b = seq_o;
        std::sort(seq_b.begin(), seq_b.end(), [this](long x, long y) {
            ticker_.tick();
            return x < y;
        });
        const bool ours_reordered = seq_o != seq_b, theirs_reordered = seq_t != seq_b;
        const bool primary_ours = ours_reordered || !theirs_reordered;
        const std::size_t mark = conflicts.size();

        // The merged element of every id; nullopt when it is dropped.
        std::vector<std::optional<Value>> from_o(O.size()), from_t(T.size());
        for (std::size_t i = 0; i < O.size(); ++i) {
            ticker_.tick();
            const Value& id = *element_id(O[i]);
            const Value* bv = o_in_b[i] >= 0 ? &B[static_cast<std::size_t>(o_in_b[i])] : nullptr;
            if (o_in_t[i] >= 0) {
                from_o[i] = child(id_step(id), bv, O[i], T[static_cast<std::size_t>(o_in_t[i])]);
                from_t[static_cast<std::size_t>(o_in_t[i])] = from_o[i];
            } else if (bv == nullptr) {
                from_o[i] = O[i];  // added by ours
            } else if (!(*bv == O[i])) {
                conflict_at(id_step(id), ConflictKind::delete_modify, bv, &O[i], nullptr);
                from_o[i] = O[i];
            }
        }
        for (std::size_t j = 0; j < T.size(); ++j) {
            ticker_.tick();
            if (t_in_o[j] >= 0) continue;
            const Value* bv = t_in_b[j] >= 0 ? &B[static_cast<std::size_t>(t_in_b[j])] : nullptr;
            if (bv == nullptr) {
                from_t[j] = T[j];  // added by theirs
            } else if (!(*bv == T[j])) {
                conflict_at(id_step(*element_id(T[j])), ConflictKind::delete_modify, bv, nullptr, &T[j]);
            }
        }
        if (ours_reordered && theirs_reordered && seq_o != seq_t) conflict(ConflictKind::order, b, &o, &t, mark);

        // The primary side gives the skeleton; the other side's own elements are inserted
        // after their nearest preceding element that is in the result. Ours come first.
        const auto& P = primary_ours ? O : T;
        const auto& S = primary_ours ? T : O;
        const auto& p_res = primary_ours ? from_o : from_t;
        const auto& s_res = primary_ours ? from_t : from_o;
        const auto& p_in_s = primary_ours ? o_in_t : t_in_o;
        const auto& s_in_p = primary_ours ? t_in_o : o_in_t;
        struct Slot {
            Value value;
            bool shared;  // also on the other side
        };
        std::vector<Slot> skeleton;
        skeleton.reserve(P.size());
        std::vector<long> slot_of(P.size(), -1);  // skeleton index of P's elements
        for (std::size_t i = 0; i < P.size(); ++i) {
            ticker_.tick();
            if (!p_res[i]) continue;
            slot_of[i] = static_cast<long>(skeleton.size());
            skeleton.push_back({*p_res[i], p_in_s[i] >= 0});
        }
        std::vector<std::vector<Value>> before(skeleton.size() + 1);  // inserted before skeleton[i]
        long anchor = -1;   // skeleton index of the current anchor
        long chained = -1;  // bucket of the last inserted element when it is the anchor
        for (std::size_t j = 0; j < S.size(); ++j) {
            ticker_.tick();
            if (s_in_p[j] >= 0) {  // also in P: an anchor if it is in the result
                const long slot = slot_of[static_cast<std::size_t>(s_in_p[j])];
                if (slot >= 0) {
                    anchor = slot;
                    chained = -1;
                }
                continue;
            }
            if (!s_res[j]) continue;  // dropped
            long at = chained;
            if (at < 0) {
                at = anchor + 1;
                if (primary_ours)  // theirs go after ours' own elements following the anchor
                    while (at < static_cast<long>(skeleton.size()) && !skeleton[static_cast<std::size_t>(at)].shared)
                        ++at;
            }
            before[static_cast<std::size_t>(at)].push_back(*s_res[j]);
            chained = at;
        }
        std::vector<Value> out;
        out.reserve(O.size() + T.size());
        for (std::size_t i = 0; i <= skeleton.size(); ++i) {
            ticker_.tick(1 + before[i].size());
            out.insert(out.end(), before[i].begin(), before[i].end());
            if (i < skeleton.size()) out.push_back(skeleton[i].value);
        }
        return Value::array(std::move(out));
    }

    ArrayMode mode_;
    Path path_;
    InterruptTicker ticker_;
};

std::size_t max_depth(const Value* b, const Value& o, const Value& t) {
    return std::max({b != nullptr ? b->depth() : 0, o.depth(), t.depth()});
}

}  // namespace

MergeResult merge3(const Value* base, const Value& ours, const Value& theirs, ArrayMode mode) {
    if (max_depth(base, ours, theirs) > kMaxDepth)
        throw Error(Errc::limit_exceeded, "JSON value is nested too deeply", Detail().add("max_depth", kMaxDepth));
    Merger m(mode);
    MergeResult r;
    r.content = m.merge(base, ours, theirs);
    r.conflicts = std::move(m.conflicts);
    r.conflicts_charge = std::move(m.charge);
    r.clean = r.conflicts.empty();
    return r;
}

}  // namespace ce::json
