// Eight-bytes-at-a-time tests shared by the JSON scanner and the text column check: a
// migration runs every message's text through both.
#pragma once

#include <cstdint>
#include <cstring>

namespace chatledger::core::bytes {

/// 0x01 in every byte, and 0x80 in every byte.
constexpr uint64_t ones = ~uint64_t{0} / 255, highs = ones * 0x80;

/// The eight bytes at `p`, which need not be aligned.
inline uint64_t load8(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

/// Nonzero when any of the 8 bytes in `v` is zero (a mask, so tests combine with `|` in one
/// word).
constexpr uint64_t zero_mask(uint64_t v) {
    return (v - ones) & ~v & highs;
}

/// Nonzero when any of the 8 bytes in `v` is below `n` (n <= 128).
constexpr uint64_t less_mask(uint64_t v, unsigned char n) {
    return (v - ones * n) & ~v & highs;
}

}  // namespace chatledger::core::bytes
