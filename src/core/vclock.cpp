// Vector clocks: parsing, printing, the canonical encoding, and the operations.
#include "concurrent_edit/vclock.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/json.hpp"

namespace ce {

namespace {

using json::append_json_string;
using json::append_utf8;

// A reason quotes at most one node id (kVClockMaxNodeBytes): it is not cut.
constexpr std::size_t kReasonBytes = 2 * kVClockMaxNodeBytes;

// The DETAIL of a counter outside 0 .. 2^63-1.
std::string counter_range(std::string_view node) {
    return Detail().add("node", node).add("min", 0).add("max", static_cast<unsigned long long>(kVClockMaxCounter));
}


// A node id for a message: JSON-quoted, shortened.
std::string quoted(std::string_view node) {
    std::string out;
    append_json_string(out, excerpt(node));
    return out;
}

using json::valid_utf8;


[[noreturn]] void node_too_long(std::size_t len) {
    throw Error(Errc::limit_exceeded, "vclock node id is too long",
                len > 0 ? Detail().add("bytes", len).add("limit", kVClockMaxNodeBytes)
                        : Detail().add("limit", kVClockMaxNodeBytes));
}

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

[[noreturn]] void bad_binary(const std::string& detail) {
    throw Error(Errc::invalid_binary, "invalid binary representation of a vclock", Detail().add("reason", detail, kReasonBytes));
}

[[noreturn]] void corrupt() {
    throw Error(Errc::internal, "corrupted vclock value",
                Detail().add("reason", "A stored vclock does not follow the encoding; it was damaged or not written by "
                                       "concurrent_edit.", kReasonBytes));
}

// ---------------------------------------------------------------------------
// The text parser.

class Parser {
public:
    explicit Parser(std::string_view in) : in_(in) {}

    // The members in input order (zero counters and duplicates included).
    std::vector<VClock::Entry> run() {
        std::vector<VClock::Entry> members;
        skip_ws();
        if (!eat('{')) syntax("Expected \"{\" at offset " + std::to_string(pos_) + ".");
        skip_ws();
        if (!eat('}')) {
            for (;;) {
                skip_ws();
                if (peek() != '"')
                    syntax("Expected a node id (a JSON string) at offset " + std::to_string(pos_) + ".");
                if (members.size() == kVClockMaxEntries)
                    throw Error(Errc::limit_exceeded, "vclock has too many entries",
                                Detail().add("limit", kVClockMaxEntries));
                std::string node = parse_string();
                skip_ws();
                if (!eat(':')) syntax("Expected \":\" after node id " + quoted(node) + ".");
                skip_ws();
                std::uint64_t counter = parse_counter(node);
                members.push_back({std::move(node), counter});
                skip_ws();
                if (eat(',')) continue;
                if (eat('}')) break;
                syntax("Expected \",\" or \"}\" at offset " + std::to_string(pos_) + ".");
            }
        }
        skip_ws();
        if (pos_ != in_.size())
            syntax("Unexpected characters after the closing \"}\" at offset " + std::to_string(pos_) + ".");
        return members;
    }

private:
    [[noreturn]] void syntax(const std::string& detail) const {
        throw Error(Errc::invalid_text, "invalid input syntax for type vclock: \"" + excerpt(in_) + "\"",
                    Detail().add("reason", detail, kReasonBytes));
    }

    char peek() const noexcept { return pos_ < in_.size() ? in_[pos_] : '\0'; }
    bool eat(char c) noexcept {
        if (pos_ < in_.size() && in_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    static bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

    void skip_ws() {
        while (pos_ < in_.size()) {
            char c = in_[pos_];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
            ++pos_;
            ticker_.tick();
        }
    }

    // A node id: a JSON string starting at the opening quote (json::decode_string).
    std::string parse_string() {
        std::size_t start = pos_;
        std::string out;
        json::StringError e = json::decode_string(in_, pos_, out, kVClockMaxNodeBytes);
        if (e == json::StringError::too_long) node_too_long(0);
        if (e == json::StringError::nul) syntax("Node ids must not contain \\u0000.");
        if (e != json::StringError::none)
            syntax("The node id at offset " + std::to_string(start) + " is not a valid JSON string: " +
                   json::describe(e) + " at offset " + std::to_string(pos_) + ".");
        if (out.empty()) syntax("Node ids must not be empty (offset " + std::to_string(start) + ").");
        return out;
    }

    std::uint64_t parse_counter(const std::string& node) {
        bool negative = eat('-');
        if (!is_digit(peek()))
            syntax("The counter of node " + quoted(node) + " must be a non-negative integer.");
        if (peek() == '0' && pos_ + 1 < in_.size() && is_digit(in_[pos_ + 1]))
            syntax("The counter of node " + quoted(node) + " has a leading zero.");
        std::uint64_t v = 0;
        bool overflow = false;
        while (is_digit(peek())) {
            auto d = static_cast<std::uint64_t>(in_[pos_++] - '0');
            if (overflow || v > (kVClockMaxCounter - d) / 10)
                overflow = true;
            else
                v = v * 10 + d;
            ticker_.tick();
        }
        char c = peek();
        if (c == '.' || c == 'e' || c == 'E')
            syntax("The counter of node " + quoted(node) + " is not an integer (no fractions or exponents).");
        if (negative)
            throw Error(Errc::out_of_range, "vclock counter of node " + quoted(node) + " is negative",
                        counter_range(node));
        if (overflow)
            throw Error(Errc::out_of_range, "vclock counter of node " + quoted(node) + " is out of range",
                        counter_range(node));
        return v;
    }

    std::string_view in_;
    std::size_t pos_ = 0;
    InterruptTicker ticker_;
};

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
    if (node.size() > kVClockMaxNodeBytes) node_too_long(node.size());
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

VClock VClock::parse(std::string_view text) {
    std::vector<Entry> members = Parser(text).run();
    std::stable_sort(members.begin(), members.end(),
                     [](const Entry& a, const Entry& b) { return a.node < b.node; });
    for (std::size_t i = 1; i < members.size(); ++i)
        if (members[i].node == members[i - 1].node)
            throw Error(Errc::duplicate_key, "duplicate node " + quoted(members[i].node) + " in vclock",
                        Detail().add("node", members[i].node), "Each node may appear once in a vclock.");
    members.erase(std::remove_if(members.begin(), members.end(), [](const Entry& e) { return e.counter == 0; }),
                  members.end());
    VClock out;
    out.entries_ = std::move(members);
    return out;
}

std::string VClock::to_text() const {
    std::string out = "{";
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (i > 0) out += ", ";
        append_json_string(out, entries_[i].node);
        out += ": ";
        out += std::to_string(entries_[i].counter);
    }
    out += "}";
    return out;
}

std::string VClock::encode() const {
    std::string out;
    std::size_t size = 3;
    for (const Entry& e : entries_) size += 1 + e.node.size() + 9;
    out.reserve(size);
    out.push_back(static_cast<char>(kVClockFormatVersion));
    put_varint(out, entries_.size());
    for (const Entry& e : entries_) {
        out.push_back(static_cast<char>(e.node.size() - 1));
        out += e.node;
        put_varint(out, e.counter);
    }
    return out;
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
        throw Error(Errc::out_of_range, "vclock counter of node " + quoted(node) + " is out of range",
                    counter_range(node));
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
        throw Error(Errc::out_of_range, "vclock counter of node " + quoted(node) + " would overflow",
                    counter_range(node));
    return set(node, current + 1);
}

VClock& VClock::merge(const VClock& other) {
    std::vector<Entry> out;
    out.reserve(entries_.size() + other.entries_.size());
    auto a = entries_.begin();
    auto b = other.entries_.begin();
    while (a != entries_.end() || b != other.entries_.end()) {
        int c = a == entries_.end() ? 1 : b == other.entries_.end() ? -1 : a->node.compare(b->node);
        if (c == 0) {
            out.push_back({a->node, std::max(a->counter, b->counter)});
            ++a;
            ++b;
        } else if (c < 0) {
            out.push_back(*a++);
        } else {
            out.push_back(*b++);
        }
    }
    if (out.size() > kVClockMaxEntries)
        throw Error(Errc::limit_exceeded, "merged vclock has too many entries",
                    Detail().add("nodes", out.size()).add("limit", kVClockMaxEntries),
                    "Prune the clocks with vclock_prune() first.");
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

VClock merge(const VClock& a, const VClock& b) {
    VClock out = a;
    out.merge(b);
    return out;
}

std::vector<std::string_view> divergent_nodes(const VClock& a, const VClock& b) {
    return divergent_cursors(EntryCursor(a.entries()), EntryCursor(b.entries()));
}

std::vector<std::string_view> divergent_nodes(VClockView a, VClockView b) {
    return divergent_cursors(a.cursor(), b.cursor());
}

}  // namespace ce
