// libFuzzer target for message identity: a JSON value re-spelled without changing its value
// (blanks, number spellings, string escapes) keeps its identity; a changed value does not.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/json.hpp"

using namespace chatledger::core;

namespace {

void check(bool ok) {
    if (!ok)
        std::abort();
}

bool digit(char c) {
    return c >= '0' && c <= '9';
}

/// `value` re-spelled: a blank after each comma and colon, every number with an exponent
/// shifted into it ("12" -> "120e-1"), every ASCII letter in a string as a \u escape. Also
/// returns, in `changed`, the value with its first number's last digit changed, if it has one.
std::string respell(std::string_view value, std::string& changed) {
    std::string out;
    changed.clear();
    bool in_string = false, changed_one = false;
    for (size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (in_string) {
            if (c == '\\') {
                // An escape stays as it is: \uXXXX whole, so its hex digits stay digits.
                const size_t n = i + 1 < value.size() && value[i + 1] == 'u' ? 6 : 2;
                out += value.substr(i, n);
                i += n - 1;
                continue;
            }
            if (c == '"') {
                in_string = false;
                out += c;
                continue;
            }
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
                static const char hex[] = "0123456789abcdef";
                out += "\\u00";
                out += hex[(c >> 4) & 15];
                out += hex[c & 15];
                continue;
            }
            out += c;
            continue;
        }
        if (c == '"') {
            in_string = true;
            out += c;
            continue;
        }
        if (c == '-' || digit(c)) {
            size_t j = i;
            if (value[j] == '-')
                ++j;
            while (j < value.size() && (digit(value[j]) || value[j] == '.' || value[j] == 'e' ||
                                        value[j] == 'E' || value[j] == '+' || value[j] == '-'))
                ++j;
            const std::string_view number = value.substr(i, j - i);
            const bool plain = number.find_first_of(".eE") == std::string_view::npos;
            if (number == "0" || number == "-0") {
                out += number;
                out += ".0";  // no leading zero may follow a zero
            } else if (plain) {
                out += number;
                out += "0e-1";  // 12 -> 120e-1: the same value
            } else {
                out += number;
            }
            if (!changed_one) {
                changed_one = true;
                // The last digit of the significand, one more (9 -> 8): another value.
                size_t k = number.find_first_of("eE");
                k = (k == std::string_view::npos ? number.size() : k) - 1;
                std::string other(number);
                other[k] = other[k] == '9' ? '8' : static_cast<char>(other[k] + 1);
                changed = std::string(value.substr(0, i)) + other + std::string(value.substr(j));
            }
            i = j - 1;
            continue;
        }
        out += c;
        if (c == ',' || c == ':')
            out += ' ';
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (!is_valid_json(text))
        return 0;
    const std::string id = canonical(text);
    std::string changed;
    const std::string again = respell(text, changed);
    check(is_valid_json(again));
    check(canonical(again) == id);
    // A number whose significand changed is another value, unless it is zero either way. Only
    // without objects: a repeated key's earlier value is shadowed, changed or not.
    if (!changed.empty() && text.find('{') == std::string_view::npos && is_valid_json(changed)) {
        const std::string other = canonical(changed);
        const bool zeros = id.find_first_of("123456789") == std::string::npos;
        check(zeros || other != id);
    }
    return 0;
}
