// Decompression of PostgreSQL's pglz format, the default compression of stored
// text values (docs/architecture.md, "Reading compressed arguments").
//
// The glue reads a pglz-compressed text argument (of merge3, diff, write, ...)
// with this decoder instead of the server's, because the inputs of a merge are
// usually table columns: decompressing three 255 kB inputs took longer than
// merging them (docs/benchmarks.md, "merge"). The result is byte for byte what
// the server's decoder gives; a stream it would refuse is refused too.
//
// Format: groups of a control byte and up to eight items, one per control bit,
// least significant first. Bit 0: one literal byte. Bit 1: a back-reference of
// two bytes, or three when the length needs it:
//   byte 0: high nibble = offset bits 8..11, low nibble = length - 3 (0..15)
//   byte 1: offset bits 0..7
//   byte 2: only when the low nibble is 15: added to the length (18..273)
// A back-reference copies `length` bytes from `offset` (1..4095) bytes back in the
// output; it may overlap what it writes (a run). Decoding stops when the output is
// full or the input ends.
#pragma once

#include <cstddef>

namespace ce::pglz {

// Decodes `src` (`n` bytes) into `dst`, which has room for `raw` bytes. True when
// the stream is well formed, fills exactly `raw` bytes and is consumed entirely
// (what the server requires of a stored value); false otherwise, with `dst` in an
// unspecified state. Never reads or writes outside the two buffers.
bool decompress(const unsigned char* src, std::size_t n, char* dst, std::size_t raw);

}  // namespace ce::pglz
