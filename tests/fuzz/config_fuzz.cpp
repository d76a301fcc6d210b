// libFuzzer target for the configuration loader: any text either loads or is refused with a
// config_error (one line, naming the source); nothing else may escape.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config.hpp"
#include "config/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        auto cfg = chatledger::parse_config(text, "fuzz.yaml");
        // Whatever loaded quotes safely.
        const std::string q = cfg.legacy.table.quoted();
        if (q.empty() || q.front() != '"') std::abort();
    } catch (const chatledger::config_error& e) {
        if (std::string(e.what()).rfind("fuzz.yaml", 0) != 0 &&
            std::string(e.what()).find("fuzz.yaml") == std::string::npos)
            std::abort();
    }
    return 0;
}
