// libFuzzer target for the core merge and diff (built with ASan + UBSan).
//
// Input: one option byte, then base, ours and theirs separated by 0x00 bytes.
// Properties checked (abort on violation):
//   merge(b, b, x) = x, merge(b, x, b) = x, merge(x, x, x) = x (clean, byte-exact);
//   a clean merge (favor none) has no marker line that no input had;
//   clean == (conflicts == 0) == regions.empty(), favor leaves no conflict;
//   every conflict region's ranges and texts agree with the inputs;
//   diff_stat: added - removed = lines(new) - lines(old).
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/diff.hpp"
#include "concurrent_edit/lines.hpp"
#include "concurrent_edit/merge.hpp"
#include "three_texts.hpp"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

void expect_identity(std::string_view b, std::string_view o, std::string_view t, std::string_view want,
                     const ce::MergeOptions& opt) {
    ce::MergeResult r = ce::merge3(b, o, t, opt);
    check(r.clean && r.conflicts == 0 && r.regions.empty());
    check(r.content == want);
}

bool is_marker_line(std::string_view line, int size) {
    if (line.size() < static_cast<std::size_t>(size)) return false;
    char c = line[0];
    if (c != '<' && c != '=' && c != '>' && c != '|') return false;
    for (int i = 0; i < size; ++i)
        if (line[static_cast<std::size_t>(i)] != c) return false;
    return true;
}

std::string_view slice(const std::vector<std::string_view>& lines, int start, int count) {
    if (count == 0) return {};
    std::string_view first = lines[static_cast<std::size_t>(start - 1)];
    std::string_view last = lines[static_cast<std::size_t>(start - 1 + count - 1)];
    return {first.data(), static_cast<std::size_t>(last.data() + last.size() - first.data())};
}

void check_region_side(std::string_view text, int start, int count, const std::string& got) {
    auto lines = ce::split_lines(text);
    check(start >= 1 && count >= 0 && start - 1 + count <= static_cast<int>(lines.size()));
    check(slice(lines, start, count) == got);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::uint8_t opt_byte;
    std::string_view parts[3];
    if (!three_texts(data, size, opt_byte, parts)) return 0;
    std::string_view base = parts[0], ours = parts[1], theirs = parts[2];

    ce::MergeOptions opt;
    opt.style = static_cast<ce::MergeStyle>(opt_byte % 3);
    opt.favor = static_cast<ce::MergeFavor>((opt_byte / 3) % 4);
    opt.marker_size = 1 + (opt_byte / 12) % 9;

    // Identities.
    expect_identity(base, base, theirs, theirs, opt);
    expect_identity(base, ours, base, ours, opt);
    expect_identity(ours, ours, ours, ours, opt);

    ce::MergeResult r = ce::merge3(base, ours, theirs, opt);
    check(r.clean == (r.conflicts == 0));
    check(static_cast<std::size_t>(r.conflicts) == r.regions.size());
    if (opt.favor != ce::MergeFavor::none) check(r.clean);
    for (const ce::ConflictRegion& reg : r.regions) {
        check_region_side(base, reg.base_start, reg.base_count, reg.base);
        check_region_side(ours, reg.ours_start, reg.ours_count, reg.ours);
        check_region_side(theirs, reg.theirs_start, reg.theirs_count, reg.theirs);
    }
    if (r.clean && opt.favor == ce::MergeFavor::none) {
        std::set<std::string_view> input_lines;
        for (std::string_view t : {base, ours, theirs})
            for (std::string_view l : ce::split_lines(t)) input_lines.insert(l);
        for (std::string_view l : ce::split_lines(r.content))
            if (is_marker_line(l, opt.marker_size)) check(input_lines.count(l) > 0);
    }

    ce::DiffStat st = ce::diff_stat(base, ours);
    long delta = static_cast<long>(ce::split_lines(ours).size()) -
                 static_cast<long>(ce::split_lines(base).size());
    check(st.lines_added - st.lines_removed == delta);
    return 0;
}
