#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"

namespace ce {

const char* errc_name(Errc code) noexcept {
    switch (code) {
        case Errc::invalid_parameter: return "invalid_parameter";
        case Errc::invalid_text: return "invalid_text";
        case Errc::invalid_json: return "invalid_json";
        case Errc::null_not_allowed: return "null_not_allowed";
        case Errc::out_of_range: return "out_of_range";
        case Errc::limit_exceeded: return "limit_exceeded";
        case Errc::invalid_operation: return "invalid_operation";
        case Errc::dependency_cycle: return "dependency_cycle";
        case Errc::duplicate_key: return "duplicate_key";
        case Errc::invalid_binary: return "invalid_binary";
        case Errc::canceled: return "canceled";
        case Errc::internal: return "internal";
    }
    return "unknown";
}

namespace detail {
InterruptHook interrupt_hook = nullptr;
}

InterruptHook set_interrupt_hook(InterruptHook hook) noexcept {
    InterruptHook old = detail::interrupt_hook;
    detail::interrupt_hook = hook;
    return old;
}

std::string excerpt(std::string_view s, std::size_t max) {
    if (s.size() <= max) return std::string(s);
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return std::string(s.substr(0, n)) + "...";
}

}  // namespace ce
