// libFuzzer target for timestamp parsing: never crashes, and what it accepts formats and
// parses back to the same instant at millisecond precision.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/timestamp.hpp"

using namespace chatledger::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (auto parsed : {parse_timestamp(text), parse_timestamp_json(text)}) {
        if (!parsed)
            continue;
        const int64_t ms = *parsed - (((*parsed % 1000) + 1000) % 1000);
        auto back = parse_timestamp(format_iso_ms(*parsed));
        if (!back || *back != ms)
            std::abort();
        if (format_timestamptz(*parsed).size() != 29)
            std::abort();
    }
    return 0;
}
