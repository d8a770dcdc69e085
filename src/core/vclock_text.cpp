// Vector clocks: the text form (a JSON object of node id -> counter), parsed and
// printed.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/json.hpp"
#include "concurrent_edit/vclock.hpp"
#include "vclock_internal.hpp"

namespace ce {

namespace {

using detail::kVClockReasonBytes;
using json::append_json_string;
using detail::vclock_counter_range;
using detail::vclock_node_too_long;
using detail::vclock_quoted;

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
                if (!eat(':')) syntax("Expected \":\" after node id " + vclock_quoted(node) + ".");
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
                    Detail().add("reason", detail, kVClockReasonBytes));
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
        if (e == json::StringError::too_long) vclock_node_too_long(0);
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
            syntax("The counter of node " + vclock_quoted(node) + " must be a non-negative integer.");
        if (peek() == '0' && pos_ + 1 < in_.size() && is_digit(in_[pos_ + 1]))
            syntax("The counter of node " + vclock_quoted(node) + " has a leading zero.");
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
            syntax("The counter of node " + vclock_quoted(node) + " is not an integer (no fractions or exponents).");
        if (negative)
            throw Error(Errc::out_of_range, "vclock counter of node " + vclock_quoted(node) + " is negative",
                        vclock_counter_range(node));
        if (overflow)
            throw Error(Errc::out_of_range, "vclock counter of node " + vclock_quoted(node) + " is out of range",
                        vclock_counter_range(node));
        return v;
    }

    std::string_view in_;
    std::size_t pos_ = 0;
    InterruptTicker ticker_;
};

}  // namespace

VClock VClock::parse(std::string_view text) {
    std::vector<Entry> members = Parser(text).run();
    std::stable_sort(members.begin(), members.end(),
                     [](const Entry& a, const Entry& b) { return a.node < b.node; });
    for (std::size_t i = 1; i < members.size(); ++i)
        if (members[i].node == members[i - 1].node)
            throw Error(Errc::duplicate_key, "duplicate node " + vclock_quoted(members[i].node) + " in vclock",
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

}  // namespace ce
