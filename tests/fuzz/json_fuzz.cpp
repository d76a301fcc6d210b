// libFuzzer target for the legacy JSON codec and the ingest rule's identities.
// Property: a value is either unparseable (kept whole) or every element survives render(split(x)).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "core/message.hpp"

using namespace chatledger::core;

namespace {

void check(bool ok) {
    if (!ok)
        std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto split = split_value(text);
    if (split.kind != value_kind::array) {
        check(split.elements.empty());
        return 0;
    }
    std::vector<std::string> ids;
    for (auto e : split.elements) {
        check(is_valid_json(e));
        const std::string c = canonical(e);
        // The canonical form is valid JSON and its own canonical form.
        check(is_valid_json(c));
        check(canonical(c) == c);
        ids.push_back(c);
        auto f = extract_fields(e, field_names{});
        if (f.body)
            check(to_text_column(*f.body) == *f.body);
    }
    // Rendering the elements back gives an array with the same messages, in the same order.
    const std::string again = render_array(split.elements);
    const auto resplit = split_value(again);
    check(resplit.kind == value_kind::array && resplit.elements.size() == ids.size());
    for (size_t i = 0; i < ids.size(); ++i) check(canonical(resplit.elements[i]) == ids[i]);
    // The ingest rule appends nothing for a value the ledger already holds.
    identity_counts ledger;
    for (auto& id : ids) ++ledger[id];
    check(elements_to_append(ids, ledger).empty());
    return 0;
}
