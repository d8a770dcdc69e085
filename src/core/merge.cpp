// Three-way merge with the semantics of git merge-file (xdiff's xdl_merge at level
// ZEALOUS_ALNUM): two edit scripts base->ours and base->theirs are walked together;
// changes that overlap or touch are conflicts unless identical; conflicts are then
// refined (re-diffed ours vs theirs) and nearby ones joined. The code is our own.
#include "concurrent_edit/merge.hpp"

#include <algorithm>

#include "concurrent_edit/diff.hpp"
#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/lines.hpp"

namespace ce {

MergeStyle parse_merge_style(std::string_view s) {
    if (s == "merge") return MergeStyle::merge;
    if (s == "diff3") return MergeStyle::diff3;
    if (s == "zdiff3") return MergeStyle::zdiff3;
    throw Error(Errc::invalid_parameter, "unknown merge style \"" + excerpt(s) + "\"",
                Detail().add("argument", "style").add("value", s),
                "Valid styles are merge, diff3 and zdiff3.");
}

HunkChoice::Kind parse_hunk_choice(std::string_view s) {
    if (s == "ours") return HunkChoice::Kind::ours;
    if (s == "theirs") return HunkChoice::Kind::theirs;
    if (s == "base") return HunkChoice::Kind::base;
    if (s == "union") return HunkChoice::Kind::union_;
    throw Error(Errc::invalid_parameter, "unknown choice \"" + excerpt(s) + "\"",
                Detail().add("argument", "choose").add("value", s), "Choose ours, theirs, base or union.");
}

MergeFavor parse_merge_favor(std::string_view s) {
    if (s == "none") return MergeFavor::none;
    if (s == "ours") return MergeFavor::ours;
    if (s == "theirs") return MergeFavor::theirs;
    if (s == "union") return MergeFavor::union_;
    throw Error(Errc::invalid_parameter, "unknown merge favor \"" + excerpt(s) + "\"",
                Detail().add("argument", "favor").add("value", s),
                "Valid favor modes are none, ours, theirs and union.");
}

namespace {

enum Mode { kConflict = 0, kOurs = 1, kTheirs = 2, kBoth = 3, kIdentical = 4 };

// One region of the merge: base lines [i0, i0 + chg0), ours [i1, i1 + chg1),
// theirs [i2, i2 + chg2). base_exact is false once refinement or joining changed the
// side ranges (git then leaves the base range stale; we recompute it for reports).
struct Chunk {
    int mode;
    long i0, chg0, i1, chg1, i2, chg2;
    bool base_exact = true;
    long moved_before = 0, moved_after = 0;  // zdiff3: shared lines moved out before and after
};

struct Text {
    std::vector<std::string_view> lines;
    std::vector<std::uint32_t> ids;
    long n() const { return static_cast<long>(lines.size()); }
};

void append_chunk(std::vector<Chunk>& out, int mode, long i0, long chg0, long i1, long chg1,
                  long i2, long chg2) {
    if (!out.empty()) {
        Chunk& m = out.back();
        if (i1 <= m.i1 + m.chg1 || i2 <= m.i2 + m.chg2) {
            if (mode != m.mode) m.mode = kConflict;
            m.chg0 = i0 + chg0 - m.i0;
            m.chg1 = i1 + chg1 - m.i1;
            m.chg2 = i2 + chg2 - m.i2;
            return;
        }
    }
    out.push_back(Chunk{mode, i0, chg0, i1, chg1, i2, chg2});
}

// Walks both edit scripts (xdl_do_merge). A change both sides made identically
// is no chunk (its lines are ours'); it goes to `same`, for MergeResult::changes.
std::vector<Chunk> walk(const std::vector<DiffChange>& x1, const std::vector<DiffChange>& x2,
                        const Text& base, const Text& ours, const Text& theirs,
                        InterruptTicker& ticker, std::vector<Chunk>& same) {
    std::vector<Chunk> out;
    std::size_t a = 0, b = 0;
    while (a < x1.size() && b < x2.size()) {
        const DiffChange& c1 = x1[a];
        const DiffChange& c2 = x2[b];
        ticker.tick();
        if (c1.old_start + c1.old_count < c2.old_start) {
            append_chunk(out, kOurs, c1.old_start, c1.old_count, c1.new_start, c1.new_count,
                         c2.new_start - c2.old_start + c1.old_start, c1.old_count);
            ++a;
            continue;
        }
        if (c2.old_start + c2.old_count < c1.old_start) {
            append_chunk(out, kTheirs, c2.old_start, c2.old_count,
                         c1.new_start - c1.old_start + c2.old_start, c2.old_count, c2.new_start,
                         c2.new_count);
            ++b;
            continue;
        }
        bool identical = c1.old_start == c2.old_start && c1.old_count == c2.old_count &&
                         c1.new_count == c2.new_count &&
                         std::equal(ours.ids.begin() + c1.new_start,
                                    ours.ids.begin() + c1.new_start + c1.new_count,
                                    theirs.ids.begin() + c2.new_start);
        if (!identical) {
            long off = c1.old_start - c2.old_start;
            long ffo = off + c1.old_count - c2.old_count;
            long i0 = c1.old_start, i1 = c1.new_start, i2 = c2.new_start;
            if (off > 0) {
                i0 -= off;
                i1 -= off;
            } else {
                i2 += off;
            }
            long chg0 = c1.old_start + c1.old_count - i0;
            long chg1 = c1.new_start + c1.new_count - i1;
            long chg2 = c2.new_start + c2.new_count - i2;
            if (ffo < 0) {
                chg0 -= ffo;
                chg1 -= ffo;
            } else {
                chg2 += ffo;
            }
            append_chunk(out, kConflict, i0, chg0, i1, chg1, i2, chg2);
        } else {
            same.push_back(Chunk{kIdentical, c1.old_start, c1.old_count, c1.new_start, c1.new_count,
                                 c2.new_start, c2.new_count});
        }
        long e1 = c1.old_start + c1.old_count;
        long e2 = c2.old_start + c2.old_count;
        if (e1 >= e2) ++b;
        if (e2 >= e1) ++a;
    }
    for (; a < x1.size(); ++a) {
        const DiffChange& c1 = x1[a];
        append_chunk(out, kOurs, c1.old_start, c1.old_count, c1.new_start, c1.new_count,
                     c1.old_start + theirs.n() - base.n(), c1.old_count);
    }
    for (; b < x2.size(); ++b) {
        const DiffChange& c2 = x2[b];
        append_chunk(out, kTheirs, c2.old_start, c2.old_count,
                     c2.old_start + ours.n() - base.n(), c2.old_count, c2.new_start, c2.new_count);
    }
    return out;
}

// Re-diffs ours against theirs inside each conflict and keeps only what differs
// (xdl_refine_conflicts); a conflict whose two sides are equal disappears.
void refine_conflicts(std::vector<Chunk>& chunks, const Text& ours, const Text& theirs,
                      std::size_t id_count, DiffAlgorithm algorithm) {
    std::vector<Chunk> out;
    out.reserve(chunks.size());
    for (const Chunk& m : chunks) {
        if (m.mode != kConflict || m.chg1 == 0 || m.chg2 == 0) {
            out.push_back(m);
            continue;
        }
        auto script = diff_ids(ours.ids.data() + m.i1, static_cast<std::size_t>(m.chg1),
                               theirs.ids.data() + m.i2, static_cast<std::size_t>(m.chg2), id_count,
                               algorithm);
        if (script.empty()) {
            Chunk same = m;
            same.mode = kIdentical;
            out.push_back(same);
            continue;
        }
        for (std::size_t k = 0; k < script.size(); ++k) {
            Chunk c = m;  // the first piece keeps the (stale) base range, as in git
            c.mode = kConflict;
            c.i1 = m.i1 + script[k].old_start;
            c.chg1 = script[k].old_count;
            c.i2 = m.i2 + script[k].new_start;
            c.chg2 = script[k].new_count;
            c.base_exact = false;
            out.push_back(c);
        }
    }
    chunks.swap(out);
}

bool is_alnum_ascii(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool lines_contain_alnum(const Text& t, long i, long count) {
    for (long k = 0; k < count; ++k)
        for (char c : t.lines[static_cast<std::size_t>(i + k)])
            if (is_alnum_ascii(static_cast<unsigned char>(c))) return true;
    return false;
}

// Joins conflicts separated by at most 3 lines, or by lines without any letter or
// digit (xdl_simplify_non_conflicts with ALNUM).
void simplify_non_conflicts(std::vector<Chunk>& chunks, const Text& ours) {
    if (chunks.empty()) return;
    std::vector<Chunk> out;
    out.reserve(chunks.size());
    out.push_back(chunks[0]);
    for (std::size_t k = 1; k < chunks.size(); ++k) {
        Chunk& m = out.back();
        const Chunk& next = chunks[k];
        long begin = m.i1 + m.chg1, end = next.i1;
        if (m.mode != kConflict || next.mode != kConflict ||
            (end - begin > 3 && lines_contain_alnum(ours, begin, end - begin))) {
            out.push_back(next);
        } else {
            m.chg1 = next.i1 + next.chg1 - m.i1;
            m.chg2 = next.i2 + next.chg2 - m.i2;
            m.base_exact = false;
        }
    }
    chunks.swap(out);
}

// zdiff3: drops the lines that ours and theirs share at the start and end of each
// conflict (the base part is still shown whole).
void refine_zdiff3(std::vector<Chunk>& chunks, const Text& ours, const Text& theirs) {
    for (Chunk& m : chunks) {
        if (m.mode != kConflict) continue;
        while (m.chg1 && m.chg2 && ours.ids[m.i1] == theirs.ids[m.i2]) {
            --m.chg1;
            --m.chg2;
            ++m.i1;
            ++m.i2;
            ++m.moved_before;
        }
        while (m.chg1 && m.chg2 && ours.ids[m.i1 + m.chg1 - 1] == theirs.ids[m.i2 + m.chg2 - 1]) {
            --m.chg1;
            --m.chg2;
            ++m.moved_after;
        }
    }
}

// 1 if line i ends in CR LF (for a last line without newline: the line before it),
// 0 if in LF only, -1 when it cannot be told.
int is_eol_crlf(const Text& t, long i) {
    auto crlf = [](std::string_view l) { return l.size() > 1 && l[l.size() - 2] == '\r'; };
    long n = t.n();
    if (i < n - 1) return crlf(t.lines[i]) ? 1 : 0;
    if (n == 0) return -1;
    std::string_view l = t.lines[i];
    if (!l.empty() && l.back() == '\n') return crlf(l) ? 1 : 0;
    if (i == 0) return -1;
    return crlf(t.lines[i - 1]) ? 1 : 0;
}

bool is_cr_needed(const Text& base, const Text& ours, const Text& theirs, const Chunk& m) {
    int r = is_eol_crlf(ours, m.i1 ? m.i1 - 1 : 0);
    if (r) r = is_eol_crlf(theirs, m.i2 ? m.i2 - 1 : 0);
    if (r) r = is_eol_crlf(base, 0);
    return r > 0;
}

// Appends lines [i, i + count) of t; with add_nl, a missing final newline is added.
void copy_lines(std::string& out, const Text& t, long i, long count, bool needs_cr, bool add_nl) {
    if (count < 1) return;
    const char* begin = t.lines[i].data();
    std::string_view last = t.lines[i + count - 1];
    out.append(begin, static_cast<std::size_t>(last.data() + last.size() - begin));
    if (add_nl && (last.empty() || last.back() != '\n')) {
        if (needs_cr) out += '\r';
        out += '\n';
    }
}

void marker(std::string& out, char c, int size, const std::string* label, bool needs_cr) {
    out.append(static_cast<std::size_t>(size), c);
    if (label != nullptr) {
        out += ' ';
        out += *label;
    }
    if (needs_cr) out += '\r';
    out += '\n';
}

std::string_view slice(const Text& t, long i, long count) {
    if (count <= 0) return {};
    const char* begin = t.lines[i].data();
    std::string_view last = t.lines[i + count - 1];
    return {begin, static_cast<std::size_t>(last.data() + last.size() - begin)};
}

// Maps a range [s, e) of a side to the base range it replaces, through that side's
// edit script (sorted by new_start). A boundary inside a change widens to the whole
// change; an empty side range next to a deletion takes the deleted lines.
void map_to_base(const std::vector<DiffChange>& x, long s, long e, long& bs, long& be) {
    // Only the changes from the first one ending at or after s can matter.
    auto first = std::lower_bound(x.begin(), x.end(), s, [](const DiffChange& c, long v) {
        return c.new_start + c.new_count < v;
    });
    long delta0 = 0;
    if (first != x.begin()) {
        const DiffChange& p = *(first - 1);
        delta0 = (p.new_start + p.new_count) - (p.old_start + p.old_count);
    }
    auto lo = [&](long p) {
        long delta = delta0;
        for (auto it = first; it != x.end(); ++it) {
            const DiffChange& c = *it;
            if (p <= c.new_start) return p - delta;
            if (p < c.new_start + c.new_count) return c.old_start;
            delta = (c.new_start + c.new_count) - (c.old_start + c.old_count);
        }
        return p - delta;
    };
    auto hi = [&](long p) {
        long delta = delta0;
        for (auto it = first; it != x.end(); ++it) {
            const DiffChange& c = *it;
            if (p < c.new_start) return p - delta;
            if (p == c.new_start && c.new_count > 0) return c.old_start;
            if (p <= c.new_start + c.new_count) return c.old_start + c.old_count;
            delta = (c.new_start + c.new_count) - (c.old_start + c.old_count);
        }
        return p - delta;
    };
    bs = lo(s);
    be = std::max(bs, hi(e));
}

// Lines of a text (a last line without newline counts).
long count_lines(std::string_view s) {
    long n = static_cast<long>(std::count(s.begin(), s.end(), '\n'));
    return n + (!s.empty() && s.back() != '\n' ? 1 : 0);
}

// The changes of a merge whose other side equals the base: the edit script of `side`.
std::vector<MergeChange> one_side_changes(const std::vector<DiffChange>& x, MergeChange::Side side) {
    std::vector<MergeChange> out;
    out.reserve(x.size());
    for (const DiffChange& c : x) {
        const int old_start = static_cast<int>(c.old_start + 1), old_count = static_cast<int>(c.old_count);
        MergeChange m{side,      old_start, old_count, old_start, old_count, old_start, old_count,
                      static_cast<int>(c.new_start + 1), static_cast<int>(c.new_count)};
        if (side == MergeChange::Side::ours) {
            m.ours_start = m.merged_start;
            m.ours_count = m.merged_count;
        } else {
            m.theirs_start = m.merged_start;
            m.theirs_count = m.merged_count;
        }
        out.push_back(m);
    }
    return out;
}

}  // namespace

MergeResult merge3(std::string_view base_text, std::string_view ours_text,
                   std::string_view theirs_text, const MergeOptions& options) {
    if (options.marker_size < 1 || options.marker_size > kMaxMarkerSize)
        throw Error(Errc::invalid_parameter, "marker_size must be between 1 and 100",
                    Detail().add("argument", "marker_size").add("value", options.marker_size).add("min", 1).add(
                        "max", kMaxMarkerSize));
    const std::pair<const std::string*, const char*> labels[] = {
        {&options.ours_label, "ours_label"}, {&options.base_label, "base_label"}, {&options.theirs_label, "theirs_label"}};
    for (const auto& [label, name] : labels)
        if (label->find_first_of("\r\n") != std::string::npos)
            throw Error(Errc::invalid_parameter, "a merge label must not contain a line break",
                        Detail().add("argument", name));

    InterruptTicker ticker(1 << 12);
    Text base, ours, theirs;
    base.lines = split_lines(base_text);
    ours.lines = split_lines(ours_text);
    theirs.lines = split_lines(theirs_text);
    const std::size_t total_lines = base.lines.size() + ours.lines.size() + theirs.lines.size();
    memory::Charge texts(total_lines * (sizeof(std::string_view) + sizeof(std::uint32_t)));
    LineInterner interner(base.lines.size() + ours.lines.size() + theirs.lines.size());
    base.ids = interner.intern(base.lines);
    ours.ids = interner.intern_like(ours.lines, base.lines, base.ids);
    theirs.ids = interner.intern_like(theirs.lines, base.lines, base.ids);
    const std::size_t id_count = interner.size();

    auto x1 = diff_ids(base.ids.data(), base.ids.size(), ours.ids.data(), ours.ids.size(), id_count,
                       options.algorithm);
    auto x2 = diff_ids(base.ids.data(), base.ids.size(), theirs.ids.data(), theirs.ids.size(), id_count,
                       options.algorithm);

    MergeResult result{{}, true, 0, {}, 0, {}};
    if (x1.empty()) {
        result.content.assign(theirs_text);
        result.changes = one_side_changes(x2, MergeChange::Side::theirs);
        return result;
    }
    if (x2.empty()) {
        result.content.assign(ours_text);
        result.changes = one_side_changes(x1, MergeChange::Side::ours);
        return result;
    }

    const bool show_base = options.style != MergeStyle::merge;
    std::vector<Chunk> same;
    std::vector<Chunk> chunks = walk(x1, x2, base, ours, theirs, ticker, same);
    if (options.style == MergeStyle::zdiff3) {
        refine_zdiff3(chunks, ours, theirs);
    } else if (options.style == MergeStyle::merge) {
        refine_conflicts(chunks, ours, theirs, id_count, options.algorithm);
        simplify_non_conflicts(chunks, ours);
    }

    int favor = 0;
    switch (options.favor) {
        case MergeFavor::none: favor = 0; break;
        case MergeFavor::ours: favor = kOurs; break;
        case MergeFavor::theirs: favor = kTheirs; break;
        case MergeFavor::union_: favor = kBoth; break;
    }

    std::string& out = result.content;
    out.reserve(ours_text.size() + theirs_text.size() / 4);
    memory::Charge output(memory::string_bytes(out.capacity()));
    // The base lines a conflict replaces (both sides' changes mapped to the base).
    auto base_range = [&](const Chunk& m, long& bs, long& be) {
        bs = m.i0;
        be = m.i0 + m.chg0;
        if (m.base_exact) return;
        long s1, e1, s2, e2;
        map_to_base(x1, m.i1, m.i1 + m.chg1, s1, e1);
        map_to_base(x2, m.i2, m.i2 + m.chg2, s2, e2);
        bs = std::min(s1, s2);
        be = std::max(e1, e2);
    };
    result.changes.reserve(chunks.size() + same.size());
    memory::Charge changes(memory::vector_bytes(chunks.size() + same.size(), sizeof(MergeChange)));
    long shift = 0;         // content line - ours line, for the lines between chunks
    long recorded_end = 0;  // end of the last chunk recorded, in ours
    // Records chunk m, which put `emitted` lines into content where ours has m.chg1
    // (with the lines zdiff3 moved out of it, copied around it).
    auto record = [&](const Chunk& m, MergeChange::Side side, long emitted) {
        long bs, be;
        base_range(m, bs, be);
        const long pre = m.moved_before, moved = m.moved_before + m.moved_after;
        auto n = [](long v) { return static_cast<int>(v); };
        result.changes.push_back(MergeChange{side, n(bs + 1), n(be - bs), n(m.i1 - pre + 1), n(m.chg1 + moved),
                                             n(m.i2 - pre + 1), n(m.chg2 + moved), n(m.i1 - pre + shift + 1),
                                             n(emitted + moved)});
        shift += emitted - m.chg1;
        recorded_end = m.i1 + m.chg1 + m.moved_after;
    };
    std::size_t next_same = 0;
    // Identical changes, copied with ours' lines (one that a joined conflict took in is part of it).
    auto record_same_before = [&](long ours_line) {
        for (; next_same < same.size() && same[next_same].i1 + same[next_same].chg1 <= ours_line; ++next_same)
            if (same[next_same].i1 >= recorded_end) record(same[next_same], MergeChange::Side::same, same[next_same].chg1);
    };
    long i = 0;
    std::size_t hunk = 0;  // conflict regions met so far
    for (Chunk& m : chunks) {
        ticker.tick();
        record_same_before(m.i1);
        const bool conflict = m.mode == kConflict;  // before favor or a choice settles it
        if (favor != 0 && m.mode == kConflict) {
            m.mode = favor;
            ++result.favored;
        }
        if (m.mode == kConflict) {
            long bs, be;
            base_range(m, bs, be);
            const std::size_t k = hunk++;
            const HunkChoice* choice =
                options.hunks != nullptr && k < options.hunks->size() ? &(*options.hunks)[k] : nullptr;
            if (choice != nullptr && choice->kind != HunkChoice::Kind::keep) {
                ++result.favored;
                switch (choice->kind) {
                    case HunkChoice::Kind::ours: m.mode = kOurs; break;
                    case HunkChoice::Kind::theirs: m.mode = kTheirs; break;
                    case HunkChoice::Kind::union_: m.mode = kBoth; break;
                    default: {  // base, text: lines that are neither side's
                        copy_lines(out, ours, i, m.i1 - i, false, false);
                        std::string_view lines =
                            choice->kind == HunkChoice::Kind::base ? slice(base, bs, be - bs) : choice->text;
                        out.append(lines);
                        if (!lines.empty() && lines.back() != '\n') out += '\n';
                        record(m, MergeChange::Side::both, count_lines(lines));
                        i = m.i1 + m.chg1;
                        continue;
                    }
                }
            }
        }
        if (m.mode == kConflict) {
            bool cr = is_cr_needed(base, ours, theirs, m);
            copy_lines(out, ours, i, m.i1 - i, false, false);
            marker(out, '<', options.marker_size, &options.ours_label, cr);
            copy_lines(out, ours, m.i1, m.chg1, cr, true);
            if (show_base) {
                marker(out, '|', options.marker_size, &options.base_label, cr);
                copy_lines(out, base, m.i0, m.chg0, cr, true);
            }
            marker(out, '=', options.marker_size, nullptr, cr);
            copy_lines(out, theirs, m.i2, m.chg2, cr, true);
            marker(out, '>', options.marker_size, &options.theirs_label, cr);

            ConflictRegion r;
            long bs, be;
            base_range(m, bs, be);
            r.base_start = static_cast<int>(bs + 1);
            r.base_count = static_cast<int>(be - bs);
            r.ours_start = static_cast<int>(m.i1 + 1);
            r.ours_count = static_cast<int>(m.chg1);
            r.theirs_start = static_cast<int>(m.i2 + 1);
            r.theirs_count = static_cast<int>(m.chg2);
            r.base = std::string(slice(base, bs, be - bs));
            r.ours = std::string(slice(ours, m.i1, m.chg1));
            r.theirs = std::string(slice(theirs, m.i2, m.chg2));
            result.regions.push_back(std::move(r));
            record(m, MergeChange::Side::both, (show_base ? 4 + m.chg0 : 3) + m.chg1 + m.chg2);
        } else if (m.mode & kBoth) {
            copy_lines(out, ours, i, m.i1 - i, false, false);
            if (m.mode & kOurs)
                copy_lines(out, ours, m.i1, m.chg1, is_cr_needed(base, ours, theirs, m),
                           (m.mode & kTheirs) != 0);
            if (m.mode & kTheirs) copy_lines(out, theirs, m.i2, m.chg2, false, false);
            MergeChange::Side side = conflict || m.mode == kBoth ? MergeChange::Side::both
                                     : m.mode == kOurs           ? MergeChange::Side::ours
                                                                 : MergeChange::Side::theirs;
            record(m, side, ((m.mode & kOurs) ? m.chg1 : 0) + ((m.mode & kTheirs) ? m.chg2 : 0));
        } else {
            record(m, MergeChange::Side::same, m.chg1);  // ours' lines, copied with the next gap
            continue;
        }
        i = m.i1 + m.chg1;
    }
    copy_lines(out, ours, i, ours.n() - i, false, false);
    record_same_before(ours.n() + 1);
    output.resize(memory::string_bytes(out.capacity()));
    result.conflicts = static_cast<int>(result.regions.size());
    result.clean = result.conflicts == 0;
    return result;
}

std::vector<ConflictRegion> merge_conflict_regions(std::string_view base, std::string_view ours,
                                                   std::string_view theirs, DiffAlgorithm algorithm) {
    MergeOptions options;
    options.algorithm = algorithm;
    return merge3(base, ours, theirs, options).regions;
}

Resolution resolve(std::string_view strategy, std::string_view base, std::string_view ours,
                   std::string_view theirs, const long long* ours_at, const long long* theirs_at,
                   DiffAlgorithm algorithm) {
    auto take = [&](std::string_view text) {
        return Resolution{std::string(text), std::string(strategy), true, false, 0};
    };
    if (strategy == "last-write-wins") return take(theirs);
    if (strategy == "first-write-wins") return take(ours);
    if (strategy == "timestamp") {
        if (ours_at == nullptr || theirs_at == nullptr)
            throw Error(Errc::null_not_allowed, "strategy \"timestamp\" needs ours_at and theirs_at",
                        Detail().add_json("arguments", "[\"ours_at\", \"theirs_at\"]"),
                        "Pass both timestamps, or use last-write-wins.");
        return take(*ours_at > *theirs_at ? ours : theirs);  // a tie goes to the later write
    }
    MergeOptions o;
    o.algorithm = algorithm;
    if (strategy == "keep-both") {
        o.favor = MergeFavor::union_;
        return take(merge3(base, ours, theirs, o).content);
    }
    if (strategy == "merge-with-markers" || strategy == "smart-merge") {
        MergeResult m = merge3(base, ours, theirs, o);
        if (strategy == "merge-with-markers")  // a person is needed only where markers remain
            return Resolution{std::move(m.content), std::string(strategy), m.clean, !m.clean, m.conflicts};
        return Resolution{std::move(m.content), m.clean ? "smart-merge-auto" : "smart-merge-manual", m.clean,
                          !m.clean, m.conflicts};
    }
    throw Error(Errc::invalid_parameter, "unknown resolution strategy \"" + excerpt(strategy) + "\"",
                Detail().add("argument", "strategy").add("value", strategy),
                "Valid strategies are last-write-wins, first-write-wins, merge-with-markers, "
                "smart-merge, keep-both and timestamp.");
}

}  // namespace ce
