// Vector clocks: a map node id -> counter, partially ordered by causality.
//
// Two representations share one canonical form:
//   * ce::VClock      an owning value (entries sorted by node id bytewise, no zero
//                     counters), with parse / to_text / encode / decode and the
//                     clock operations;
//   * ce::VClockView  a read-only view of the encoded bytes (as stored by the SQL
//                     type), compared and queried without allocating.
//
// Text form (JSON object, compatible with jsonb):  {"node-a": 3, "node-b": 1}
//   canonical output: nodes sorted bytewise, zero counters dropped, ": " and ", "
//   separators, JSON escapes only where JSON requires them; the empty clock is {}.
//
// Encoded form (storage and binary send/receive, byte-for-byte the same):
//   byte     format version (kVClockFormatVersion)
//   varint   number of entries n
//   n times: byte (node length - 1), node bytes (UTF-8), varint counter (>= 1)
// Varints are unsigned LEB128 in minimal form. Node ids strictly ascend bytewise.
// The encoding is canonical: equal clocks have identical bytes (so equality and
// hashing work on the bytes).
//
// Limits: counters 0 .. kVClockMaxCounter (fit in a signed 64-bit integer); node ids
// 1 .. kVClockMaxNodeBytes bytes of UTF-8 without U+0000; at most kVClockMaxEntries
// entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ce {

constexpr std::size_t kVClockMaxEntries = 1024;
constexpr std::size_t kVClockMaxNodeBytes = 256;
constexpr std::uint64_t kVClockMaxCounter = 9223372036854775807ULL;  // INT64_MAX
constexpr unsigned char kVClockFormatVersion = 1;

// Causal relation of clock a to clock b.
enum class Relation : unsigned char {
    before,      // a happened before b: a <= b pointwise, a != b
    after,       // b happened before a
    equal,       // same clock
    concurrent,  // neither dominates the other
};

// "before", "after", "equal" or "concurrent".
const char* relation_name(Relation r) noexcept;

// a dominates b: b happened before a, or they are equal.
inline bool dominates(Relation a_to_b) noexcept {
    return a_to_b == Relation::after || a_to_b == Relation::equal;
}

// Throws ce::Error unless `node` is a valid node id: invalid_parameter when empty,
// not UTF-8 or containing U+0000; limit_exceeded when longer than kVClockMaxNodeBytes.
void check_vclock_node(std::string_view node);

class VClock;

// A read-only view of an encoded clock (not owning). The bytes are trusted: they
// come from VClock::encode() or passed VClock::decode() (e.g. a stored value). A
// view never reads out of bounds; bytes that are not a valid encoding make its
// operations throw ce::Error(internal) rather than misbehave.
class VClockView {
public:
    VClockView() = default;
    // Defined inline on purpose: an out-of-line constructor is emitted as an alias
    // (C1 -> C2), and PostgreSQL's JIT inliner aborts on alias summaries when it
    // inlines SQL-callable functions that reference one (see docs/reference/vclock.md).
    explicit VClockView(std::string_view encoded) { init(encoded); }

    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    std::string_view bytes() const noexcept { return bytes_; }
    // The encoded entries (after the version byte and the entry count).
    std::string_view entry_bytes() const noexcept { return bytes_.substr(header_); }

    // Counter of `node` (0 when absent).
    std::uint64_t get(std::string_view node) const;

    // Sequential access to the entries, in node order.
    class Cursor {
    public:
        bool done() const noexcept { return left_ == 0; }
        std::string_view node() const noexcept { return node_; }
        std::uint64_t counter() const noexcept { return counter_; }
        void next();

    private:
        friend class VClockView;
        void load();
        const unsigned char* p_ = nullptr;
        const unsigned char* end_ = nullptr;
        std::size_t left_ = 0;
        std::string_view node_;
        std::uint64_t counter_ = 0;
    };
    Cursor cursor() const;

private:
    void init(std::string_view encoded);

    std::string_view bytes_;
    std::size_t count_ = 0;
    std::size_t header_ = 0;  // bytes before the first entry
};

class VClock {
public:
    struct Entry {
        std::string node;
        std::uint64_t counter;
        bool operator==(const Entry& o) const { return counter == o.counter && node == o.node; }
    };

    VClock() = default;

    // Parses the JSON object text form. Accepts JSON whitespace, string escapes
    // (\uXXXX with surrogate pairs) and zero counters (dropped). Throws ce::Error:
    //   invalid_text    not a JSON object of node -> integer; fractions, exponents,
    //                   leading zeros, empty node id, trailing characters...
    //   out_of_range    negative counter or above kVClockMaxCounter
    //   duplicate_key   the same node twice
    //   limit_exceeded  more than kVClockMaxEntries members or a node id longer than
    //                   kVClockMaxNodeBytes bytes
    static VClock parse(std::string_view text);
    // Canonical text form.
    std::string to_text() const;

    // Canonical encoded form (see the file comment).
    std::string encode() const;
    // Validates and decodes an encoded clock, rejecting anything encode() would not
    // produce (so a decoded value's bytes are canonical). Throws
    // ce::Error(invalid_binary) with the reason in the detail.
    static VClock decode(std::string_view bytes);
    // Copies a (trusted) view.
    static VClock from_view(VClockView view);

    const std::vector<Entry>& entries() const noexcept { return entries_; }
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }
    // Node ids in order.
    std::vector<std::string_view> nodes() const;

    // Counter of `node` (0 when absent).
    std::uint64_t get(std::string_view node) const;
    // Sets the counter of `node` (0 removes it). Throws like check_vclock_node,
    // out_of_range above kVClockMaxCounter, limit_exceeded for a new entry beyond
    // kVClockMaxEntries.
    VClock& set(std::string_view node, std::uint64_t counter);
    // Adds 1 to the counter of `node` (a new node starts at 1). Throws like set();
    // out_of_range when the counter is already kVClockMaxCounter.
    VClock& increment(std::string_view node);
    // Pointwise maximum with `other`. Throws limit_exceeded when the union has more
    // than kVClockMaxEntries nodes (this clock is then unchanged).
    VClock& merge(const VClock& other);
    // Keeps the `max_entries` entries with the highest counters (ties: the smaller
    // node id bytewise wins). Deterministic. Pruning forgets causality: clocks that
    // were concurrent can compare as ordered afterwards.
    VClock pruned(std::size_t max_entries) const;

    bool operator==(const VClock& o) const { return entries_ == o.entries_; }
    bool operator!=(const VClock& o) const { return !(*this == o); }

private:
    std::vector<Entry> entries_;  // sorted by node bytewise, counters >= 1
};

// Relation of a to b. Missing nodes count as 0. The view overload allocates nothing.
Relation compare(const VClock& a, const VClock& b);
Relation compare(VClockView a, VClockView b);

// Pointwise maximum (see VClock::merge).
VClock merge(const VClock& a, const VClock& b);
// The same on encoded clocks, giving the encoded result in one pass over both
// (no clock is decoded: vclock_merge_agg calls it once per row). Throws
// limit_exceeded as VClock::merge does.
std::string merge_encoded(VClockView a, VClockView b);

// Checks a clock a writer presents as the base of its edit (write's client_clock)
// against `known`, the join of the clocks of the file's stored versions (the head
// clock): it must be dominated by `known`, except that the writer's own node
// `actor` may be ahead of it by at most `max_ahead` (edits the client counted
// offline; an empty `actor`: no node may be ahead, as node ids are never empty).
// A counter beyond that, or a node the file has never seen, is refused
// with ce::Error(invalid_parameter) naming the node, so no crafted clock can reach
// the head clock (where it would make other writers' counters overflow or the
// clock exceed kVClockMaxEntries).
void check_client_clock(const VClock& client, const VClock& known, std::string_view actor, std::uint64_t max_ahead);

// The node that counts, in a file's clocks, the writes of actors beyond the first
// kVClockMaxEntries - 1 (a node id no writer has: writers' nodes are uuids).
constexpr std::string_view kVClockOverflowNode = "~others";

// The clock of a file's next version: `head` merged with the writer's `client`
// clock (checked by check_client_clock; may be nullptr), incremented for `actor`.
// The clock stays within kVClockMaxEntries: once kVClockMaxEntries - 1 actors have
// nodes, a new actor's write is counted on kVClockOverflowNode (and its own node,
// which its client may have counted offline, is left out). So the version still
// follows the head (a < b) and a file written by more actors stays writable;
// before, the 1,024th actor was refused (limit_exceeded) and with it every writer
// the clock did not know yet.
VClock next_version_clock(const VClock& head, const VClock* client, std::string_view actor);

// Whether `client`, which dominates `version`, is `version`'s own clock as a
// client that read that version holds it: equal to it, or ahead only on
// `actor`'s node (edits the client counted offline; an empty `actor`: none may
// be), provided `next` (the clock of a later version) counts no more than
// `version` on that node, so that `actor` wrote no version in between. Each
// version's clock is its parent's with more on its writer's node only
// (next_version_clock), so a client that read a later version is ahead on that
// version's writer's node. write() asks it when retention removed the versions
// between `version` and `next`, whose clocks are no longer known.
bool is_clock_of(const VClock& client, const VClock& version, const VClock& next, std::string_view actor);

// Nodes whose counters differ (in either direction), sorted bytewise. The views
// point into the clocks' storage. Empty exactly when the clocks are equal.
std::vector<std::string_view> divergent_nodes(const VClock& a, const VClock& b);
std::vector<std::string_view> divergent_nodes(VClockView a, VClockView b);

}  // namespace ce
