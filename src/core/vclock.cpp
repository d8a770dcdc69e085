// Vector clocks: the canonical encoding and the operations (the text form is in
// vclock_text.cpp).
#include "concurrent_edit/vclock.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/json.hpp"
#include "vclock_internal.hpp"

namespace ce {

namespace detail {

std::string vclock_counter_range(std::string_view node) {
    return Detail().add("node", node).add("min", 0).add("max", static_cast<unsigned long long>(kVClockMaxCounter));
}

std::string vclock_quoted(std::string_view node) {
    std::string out;
    json::append_json_string(out, excerpt(node));
    return out;
}

void vclock_node_too_long(std::size_t len) {
    throw Error(Errc::limit_exceeded, "vclock node id is too long",
                len > 0 ? Detail().add("bytes", len).add("limit", kVClockMaxNodeBytes)
                        : Detail().add("limit", kVClockMaxNodeBytes));
}

}  // namespace detail

namespace {

using json::append_json_string;
using json::valid_utf8;
constexpr std::size_t kReasonBytes = detail::kVClockReasonBytes;
using detail::vclock_counter_range;
using detail::vclock_quoted;

// ---------------------------------------------------------------------------
// Varints: unsigned LEB128, minimal form.

void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7F) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

enum class VarintStatus { ok, truncated, overlong, too_big };

// Reads a varint of at most `max_bytes` bytes (9 bytes hold the 63 bits of a counter).
VarintStatus get_varint(const unsigned char*& p, const unsigned char* end, std::uint64_t& v,
                        int max_bytes = 9) noexcept {
    v = 0;
    for (int i = 0; i < max_bytes; ++i) {
        if (p == end) return VarintStatus::truncated;
        unsigned char b = *p++;
        v |= static_cast<std::uint64_t>(b & 0x7F) << (7 * i);
        if ((b & 0x80) == 0) return (b == 0 && i > 0) ? VarintStatus::overlong : VarintStatus::ok;
    }
    return VarintStatus::too_big;
}

// The encoded form of the n entries that each(emit) passes to emit(node, counter)
// in order; `bytes` is an upper bound of their size.
template <class Each>
std::string encode_entries(std::size_t n, std::size_t bytes, Each each) {
    std::string out;
    out.reserve(3 + bytes);
    out.push_back(static_cast<char>(kVClockFormatVersion));
    put_varint(out, n);
    each([&out](std::string_view node, std::uint64_t counter) {
        out.push_back(static_cast<char>(node.size() - 1));
        out += node;
        put_varint(out, counter);
    });
    return out;
}

[[noreturn]] void bad_binary(const std::string& detail) {
    throw Error(Errc::invalid_binary, "invalid binary representation of a vclock", Detail().add("reason", detail, kReasonBytes));
}

[[noreturn]] void corrupt() {
    throw Error(Errc::internal, "corrupted vclock value",
                Detail().add("reason", "A stored vclock does not follow the encoding; it was damaged or not written by "
                                       "concurrent_edit.", kReasonBytes));
}

// ---------------------------------------------------------------------------
// Algorithms over any two entry sequences (owning clocks or encoded views).

class EntryCursor {
public:
    explicit EntryCursor(const std::vector<VClock::Entry>& v) noexcept : p_(v.data()), end_(v.data() + v.size()) {}
    bool done() const noexcept { return p_ == end_; }
    std::string_view node() const noexcept { return p_->node; }
    std::uint64_t counter() const noexcept { return p_->counter; }
    void next() noexcept { ++p_; }

private:
    const VClock::Entry* p_;
    const VClock::Entry* end_;
};

template <class A, class B>
Relation compare_cursors(A a, B b) {
    bool a_greater = false, b_greater = false;
    while (!a.done() && !b.done()) {
        int c = a.node().compare(b.node());
        if (c == 0) {
            if (a.counter() > b.counter()) a_greater = true;
            else if (a.counter() < b.counter()) b_greater = true;
            a.next();
            b.next();
        } else if (c < 0) {  // only in a (counters are never 0)
            a_greater = true;
            a.next();
        } else {
            b_greater = true;
            b.next();
        }
        if (a_greater && b_greater) return Relation::concurrent;
    }
    if (!a.done()) a_greater = true;
    if (!b.done()) b_greater = true;
    if (a_greater && b_greater) return Relation::concurrent;
    if (a_greater) return Relation::after;
    if (b_greater) return Relation::before;
    return Relation::equal;
}

template <class A, class B>
std::vector<std::string_view> divergent_cursors(A a, B b) {
    std::vector<std::string_view> out;
    while (!a.done() || !b.done()) {
        int c = a.done() ? 1 : b.done() ? -1 : a.node().compare(b.node());
        if (c == 0) {
            if (a.counter() != b.counter()) out.push_back(a.node());
            a.next();
            b.next();
        } else if (c < 0) {
            out.push_back(a.node());
            a.next();
        } else {
            out.push_back(b.node());
            b.next();
        }
    }
    return out;
}

// Calls emit(node, counter) for each node of the union of a and b in order, with
// the larger counter where both have it (the pointwise maximum); returns the count.
template <class A, class B, class Emit>
std::size_t union_cursors(A a, B b, Emit emit) {
    std::size_t n = 0;
    for (; !a.done() || !b.done(); ++n) {
        int c = a.done() ? 1 : b.done() ? -1 : a.node().compare(b.node());
        emit(c <= 0 ? a.node() : b.node(),
             c < 0 ? a.counter() : c > 0 ? b.counter() : std::max(a.counter(), b.counter()));
        if (c <= 0) a.next();
        if (c >= 0) b.next();
    }
    return n;
}

void check_union_size(std::size_t n) {
    if (n > kVClockMaxEntries)
        throw Error(Errc::limit_exceeded, "merged vclock has too many entries",
                    Detail().add("nodes", n).add("limit", kVClockMaxEntries),
                    "Prune the clocks with vclock_prune() first.");
}

template <class C>
std::uint64_t get_cursor(C c, std::string_view node) {
    for (; !c.done(); c.next()) {
        int cmp = c.node().compare(node);
        if (cmp == 0) return c.counter();
        if (cmp > 0) break;
    }
    return 0;
}

}  // namespace

// ---------------------------------------------------------------------------

const char* relation_name(Relation r) noexcept {
    switch (r) {
        case Relation::before: return "before";
        case Relation::after: return "after";
        case Relation::equal: return "equal";
        case Relation::concurrent: return "concurrent";
    }
    return "concurrent";
}

void check_vclock_node(std::string_view node) {
    if (node.empty())
        throw Error(Errc::invalid_parameter, "vclock node id must not be empty",
                    Detail().add("argument", "node").add("node", node));
    if (node.size() > kVClockMaxNodeBytes) detail::vclock_node_too_long(node.size());
    if (node.find('\0') != std::string_view::npos)
        throw Error(Errc::invalid_parameter, "vclock node id must not contain U+0000",
                    Detail().add("argument", "node").add("node", node));
    if (!valid_utf8(node))
        throw Error(Errc::invalid_parameter, "vclock node id is not valid UTF-8",
                    Detail().add("argument", "node").add("bytes", node.size()));
}

// ---------------------------------------------------------------------------
// VClockView

void VClockView::init(std::string_view encoded) {
    bytes_ = encoded;
    auto p = reinterpret_cast<const unsigned char*>(encoded.data());
    const unsigned char* end = p + encoded.size();
    if (p == end || *p != kVClockFormatVersion) corrupt();
    ++p;
    std::uint64_t n;
    if (get_varint(p, end, n, 2) != VarintStatus::ok || n > kVClockMaxEntries) corrupt();
    count_ = static_cast<std::size_t>(n);
    header_ = static_cast<std::size_t>(p - reinterpret_cast<const unsigned char*>(encoded.data()));
}

VClockView::Cursor VClockView::cursor() const {
    Cursor c;
    c.p_ = reinterpret_cast<const unsigned char*>(bytes_.data()) + header_;
    c.end_ = reinterpret_cast<const unsigned char*>(bytes_.data()) + bytes_.size();
    c.left_ = count_;
    if (c.left_ > 0) c.load();
    return c;
}

void VClockView::Cursor::load() {
    if (p_ == end_) corrupt();
    std::size_t len = static_cast<std::size_t>(*p_++) + 1;
    if (static_cast<std::size_t>(end_ - p_) < len) corrupt();
    node_ = std::string_view(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    if (p_ != end_ && *p_ < 0x80) {  // the common one-byte counter
        counter_ = *p_++;
    } else if (get_varint(p_, end_, counter_) != VarintStatus::ok) {
        corrupt();
    }
}

void VClockView::Cursor::next() {
    if (--left_ > 0) load();
}

std::uint64_t VClockView::get(std::string_view node) const { return get_cursor(cursor(), node); }

// ---------------------------------------------------------------------------
// VClock

std::string VClock::encode() const {
    std::size_t bytes = 0;
    for (const Entry& e : entries_) bytes += 1 + e.node.size() + 9;
    return encode_entries(entries_.size(), bytes, [&](auto emit) {
        for (const Entry& e : entries_) emit(e.node, e.counter);
    });
}

VClock VClock::decode(std::string_view bytes) {
    auto p = reinterpret_cast<const unsigned char*>(bytes.data());
    const unsigned char* end = p + bytes.size();
    if (p == end) bad_binary("The value is empty.");
    if (*p != kVClockFormatVersion) bad_binary("Unsupported format version " + std::to_string(*p) + ".");
    ++p;
    std::uint64_t n;
    if (get_varint(p, end, n, 2) != VarintStatus::ok) bad_binary("Malformed entry count.");
    if (n > kVClockMaxEntries) bad_binary("More than 1024 entries.");
    VClock out;
    out.entries_.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) {
        if (p == end) bad_binary("Truncated value: entry " + std::to_string(i + 1) + " of " + std::to_string(n) + " is missing.");
        std::size_t len = static_cast<std::size_t>(*p++) + 1;
        if (static_cast<std::size_t>(end - p) < len) bad_binary("Truncated node id in entry " + std::to_string(i + 1) + ".");
        std::string_view node(reinterpret_cast<const char*>(p), len);
        p += len;
        if (node.find('\0') != std::string_view::npos || !valid_utf8(node))
            bad_binary("Node id of entry " + std::to_string(i + 1) + " is not valid UTF-8 without U+0000.");
        if (!out.entries_.empty() && !(out.entries_.back().node < node))
            bad_binary("Node ids are not in strictly ascending order at entry " + std::to_string(i + 1) + ".");
        std::uint64_t counter;
        switch (get_varint(p, end, counter)) {
            case VarintStatus::ok: break;
            case VarintStatus::truncated: bad_binary("Truncated counter in entry " + std::to_string(i + 1) + ".");
            case VarintStatus::overlong:
            case VarintStatus::too_big: bad_binary("Malformed counter in entry " + std::to_string(i + 1) + ".");
        }
        if (counter == 0) bad_binary("Zero counter in entry " + std::to_string(i + 1) + ".");
        out.entries_.push_back({std::string(node), counter});
    }
    if (p != end)
        bad_binary("Unexpected data after the last entry, at offset " +
                   std::to_string(p - reinterpret_cast<const unsigned char*>(bytes.data())) + ".");
    return out;
}

VClock VClock::from_view(VClockView view) {
    VClock out;
    out.entries_.reserve(view.size());
    for (auto c = view.cursor(); !c.done(); c.next()) out.entries_.push_back({std::string(c.node()), c.counter()});
    return out;
}

std::vector<std::string_view> VClock::nodes() const {
    std::vector<std::string_view> out;
    out.reserve(entries_.size());
    for (const Entry& e : entries_) out.push_back(e.node);
    return out;
}

std::uint64_t VClock::get(std::string_view node) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), node,
                               [](const Entry& e, std::string_view n) { return std::string_view(e.node) < n; });
    return it != entries_.end() && it->node == node ? it->counter : 0;
}

VClock& VClock::set(std::string_view node, std::uint64_t counter) {
    check_vclock_node(node);
    if (counter > kVClockMaxCounter)
        throw Error(Errc::out_of_range, "vclock counter of node " + vclock_quoted(node) + " is out of range",
                    vclock_counter_range(node));
    auto it = std::lower_bound(entries_.begin(), entries_.end(), node,
                               [](const Entry& e, std::string_view n) { return std::string_view(e.node) < n; });
    if (it != entries_.end() && it->node == node) {
        if (counter == 0) entries_.erase(it);
        else it->counter = counter;
    } else if (counter != 0) {
        if (entries_.size() >= kVClockMaxEntries)
            throw Error(Errc::limit_exceeded, "vclock has too many entries", Detail().add("limit", kVClockMaxEntries));
        entries_.insert(it, Entry{std::string(node), counter});
    }
    return *this;
}

VClock& VClock::increment(std::string_view node) {
    std::uint64_t current = get(node);
    if (current == kVClockMaxCounter)
        throw Error(Errc::out_of_range, "vclock counter of node " + vclock_quoted(node) + " would overflow",
                    vclock_counter_range(node));
    return set(node, current + 1);
}

VClock& VClock::merge(const VClock& other) {
    std::vector<Entry> out;
    out.reserve(entries_.size() + other.entries_.size());
    union_cursors(EntryCursor(entries_), EntryCursor(other.entries_),
                  [&](std::string_view node, std::uint64_t counter) { out.push_back({std::string(node), counter}); });
    check_union_size(out.size());
    entries_ = std::move(out);
    return *this;
}

VClock VClock::pruned(std::size_t max_entries) const {
    if (entries_.size() <= max_entries) return *this;
    std::vector<const Entry*> order;
    order.reserve(entries_.size());
    for (const Entry& e : entries_) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
        return a->counter != b->counter ? a->counter > b->counter : a->node < b->node;
    });
    order.resize(max_entries);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) { return a->node < b->node; });
    VClock out;
    out.entries_.reserve(max_entries);
    for (const Entry* e : order) out.entries_.push_back(*e);
    return out;
}

// ---------------------------------------------------------------------------

Relation compare(const VClock& a, const VClock& b) {
    return compare_cursors(EntryCursor(a.entries()), EntryCursor(b.entries()));
}

Relation compare(VClockView a, VClockView b) {
    if (a.bytes().size() == b.bytes().size() &&
        std::memcmp(a.bytes().data(), b.bytes().data(), a.bytes().size()) == 0)
        return Relation::equal;  // canonical encoding: same bytes, same clock
    // compare_cursors() specialized for the encoded form: node ids are compared in
    // place, and the loop is tight enough to matter in scans of millions of rows.
    auto u = [](std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); };
    const unsigned char* pa = u(a.entry_bytes());
    const unsigned char* pb = u(b.entry_bytes());
    const unsigned char* ea = pa + a.entry_bytes().size();
    const unsigned char* eb = pb + b.entry_bytes().size();
    std::size_t na = a.size(), nb = b.size();
    bool a_greater = false, b_greater = false;
    std::uint64_t ca = 0, cb = 0;
    while (na > 0 && nb > 0) {
        if (pa == ea || pb == eb) corrupt();
        std::size_t la = std::size_t(*pa) + 1, lb = std::size_t(*pb) + 1;
        if (std::size_t(ea - pa) <= la || std::size_t(eb - pb) <= lb) corrupt();
        int c = std::memcmp(pa + 1, pb + 1, la < lb ? la : lb);
        if (c == 0 && la != lb) c = la < lb ? -1 : 1;
        if (c <= 0) {
            pa += 1 + la;
            if (get_varint(pa, ea, ca) != VarintStatus::ok) corrupt();
            --na;
        }
        if (c >= 0) {
            pb += 1 + lb;
            if (get_varint(pb, eb, cb) != VarintStatus::ok) corrupt();
            --nb;
        }
        if (c < 0 || (c == 0 && ca > cb)) a_greater = true;
        if (c > 0 || (c == 0 && cb > ca)) b_greater = true;
        if (a_greater && b_greater) return Relation::concurrent;
    }
    if (na > 0) a_greater = true;
    if (nb > 0) b_greater = true;
    if (a_greater && b_greater) return Relation::concurrent;
    if (a_greater) return Relation::after;
    if (b_greater) return Relation::before;
    return Relation::equal;
}

void check_client_clock(const VClock& client, const VClock& known, std::string_view actor, std::uint64_t max_ahead) {
    for (const VClock::Entry& e : client.entries()) {
        std::uint64_t limit = known.get(e.node);
        if (e.node == actor) limit = limit > kVClockMaxCounter - max_ahead ? kVClockMaxCounter : limit + max_ahead;
        if (e.counter <= limit) continue;
        std::string detail = "{\"node\": ";
        append_json_string(detail, excerpt(e.node));
        detail += ", \"counter\": " + std::to_string(e.counter) + ", \"known\": " + std::to_string(known.get(e.node));
        if (e.node == actor) detail += ", \"max_ahead\": " + std::to_string(max_ahead);
        detail += "}";
        throw Error(Errc::invalid_parameter,
                    known.get(e.node) == 0 && e.node != actor
                        ? "client_clock names a node that no version of the file has"
                        : "client_clock is ahead of every version of the file",
                    detail,
                    "Pass the vector_clock of a version you read (read() and write() return it); only the writing "
                    "session's own node may count edits made offline (without a session, the author's devices share "
                    "one node, and none may count).");
    }
}

bool is_clock_of(const VClock& client, const VClock& version, const VClock& next, std::string_view actor) {
    if (client == version) return true;
    if (actor.empty() || next.get(actor) != version.get(actor)) return false;
    for (std::string_view node : divergent_nodes(client, version))
        if (node != actor) return false;
    return true;
}

VClock next_version_clock(const VClock& head, const VClock* client, std::string_view actor) {
    std::size_t actors = head.size() - (head.get(kVClockOverflowNode) != 0 ? 1 : 0);
    bool folded = head.get(actor) == 0 && actors >= kVClockMaxEntries - 1;
    if (folded && actors >= kVClockMaxEntries)  // full without the overflow node (filled before 1.1)
        throw Error(Errc::limit_exceeded, "the file's clock has no room for a new writer",
                    Detail().add("limit", kVClockMaxEntries).add("reason", "filled before concurrent_edit 1.1"),
                    "Its clock was filled by writers of version 1.0; a writer it knows (one of its sessions or "
                    "authors) can still write, or copy the text to a new file.");
    VClock out = head;
    if (client != nullptr) {
        if (folded && client->get(actor) != 0) {
            VClock c = *client;
            c.set(actor, 0);  // removes it
            out.merge(c);
        } else {
            out.merge(*client);
        }
    }
    out.increment(folded ? kVClockOverflowNode : actor);
    return out;
}

VClock merge(const VClock& a, const VClock& b) {
    VClock out = a;
    out.merge(b);
    return out;
}

std::string merge_encoded(VClockView a, VClockView b) {
    std::size_t bytes = 0;  // first pass: the union's size, for the header and the limit
    std::size_t n = union_cursors(a.cursor(), b.cursor(),
                                  [&](std::string_view node, std::uint64_t) { bytes += 1 + node.size() + 10; });
    check_union_size(n);
    return encode_entries(n, bytes, [&](auto emit) { union_cursors(a.cursor(), b.cursor(), emit); });
}

std::vector<std::string_view> divergent_nodes(const VClock& a, const VClock& b) {
    return divergent_cursors(EntryCursor(a.entries()), EntryCursor(b.entries()));
}

std::vector<std::string_view> divergent_nodes(VClockView a, VClockView b) {
    return divergent_cursors(a.cursor(), b.cursor());
}

}  // namespace ce
