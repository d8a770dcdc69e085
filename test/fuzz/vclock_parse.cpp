// libFuzzer target for the vclock text parser and binary decoder.
//
// Properties (a violation traps):
//  * text: parse(x) either throws ce::Error of a documented kind, or print(parse(x))
//    parses back to an equal clock and printing is a fixed point; the clock survives
//    encode/decode unchanged, and incrementing any node makes it happen after;
//  * binary: decode(bytes) either throws ce::Error(invalid_binary) or accepted only
//    the canonical encoding (encode(decode(bytes)) == bytes);
//  * views over arbitrary bytes never read out of bounds (ASan) and only throw ce::Error;
//  * two clocks (the input split at its first '|'): the allocation-free compare of
//    the encoded forms agrees with the compare of the owning clocks, both ways, and
//    merge is commutative and an upper bound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/vclock.hpp"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

void check_text(std::string_view in) {
    ce::VClock x;
    try {
        x = ce::VClock::parse(in);
    } catch (const ce::Error& e) {
        check(e.code() == ce::Errc::invalid_text || e.code() == ce::Errc::out_of_range ||
              e.code() == ce::Errc::duplicate_key || e.code() == ce::Errc::limit_exceeded);
        return;
    }
    // Canonical form: sorted, no zero counters, within the limits.
    check(x.size() <= ce::kVClockMaxEntries);
    for (std::size_t i = 0; i < x.size(); ++i) {
        const auto& e = x.entries()[i];
        check(e.counter >= 1 && e.counter <= ce::kVClockMaxCounter);
        check(!e.node.empty() && e.node.size() <= ce::kVClockMaxNodeBytes);
        if (i > 0) check(x.entries()[i - 1].node < e.node);
    }
    std::string text = x.to_text();
    ce::VClock y = ce::VClock::parse(text);  // must not throw
    check(y == x);
    check(y.to_text() == text);

    std::string bin = x.encode();
    ce::VClock z = ce::VClock::decode(bin);  // must not throw
    check(z == x && z.encode() == bin);
    ce::VClockView view(bin);
    check(ce::compare(view, view) == ce::Relation::equal);
    check(ce::divergent_nodes(view, view).empty());

    if (!x.empty() && x.entries()[0].counter < ce::kVClockMaxCounter) {
        ce::VClock later = x;
        later.increment(x.entries()[0].node);
        std::string later_bin = later.encode();
        check(ce::compare(x, later) == ce::Relation::before);
        check(ce::compare(view, ce::VClockView(later_bin)) == ce::Relation::before);
        check(ce::merge(x, later) == later);
    }
}

void check_binary(std::string_view in) {
    try {
        ce::VClock d = ce::VClock::decode(in);
        check(d.encode() == in);
        check(ce::VClock::parse(d.to_text()) == d);
    } catch (const ce::Error& e) {
        check(e.code() == ce::Errc::invalid_binary);
    }
    // A view trusts its bytes but must stay in bounds on garbage.
    try {
        ce::VClockView v(in);
        for (auto c = v.cursor(); !c.done(); c.next()) {
        }
        ce::compare(v, v);
        v.get("a");
    } catch (const ce::Error& e) {
        check(e.code() == ce::Errc::internal);
    }
}

void check_pair(std::string_view in) {
    std::size_t bar = in.find('|');
    if (bar == std::string_view::npos) return;
    ce::VClock x, y;
    try {
        x = ce::VClock::parse(in.substr(0, bar));
        y = ce::VClock::parse(in.substr(bar + 1));
    } catch (const ce::Error&) {
        return;
    }
    std::string ex = x.encode(), ey = y.encode();
    ce::Relation r = ce::compare(x, y);
    check(ce::compare(ce::VClockView(ex), ce::VClockView(ey)) == r);
    ce::Relation back = ce::compare(ce::VClockView(ey), ce::VClockView(ex));
    check(back == (r == ce::Relation::before  ? ce::Relation::after
                   : r == ce::Relation::after ? ce::Relation::before
                                              : r));
    check(ce::divergent_nodes(ce::VClockView(ex), ce::VClockView(ey)).empty() == (r == ce::Relation::equal));
    try {
        ce::VClock m = ce::merge(x, y);
        check(m == ce::merge(y, x));
        check(ce::dominates(ce::compare(m, x)) && ce::dominates(ce::compare(m, y)));
    } catch (const ce::Error& e) {
        check(e.code() == ce::Errc::limit_exceeded);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    check_text(in);
    check_binary(in);
    check_pair(in);
    return 0;
}
