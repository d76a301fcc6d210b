// Resolves where a configuration points (libpq's parser and defaults) and says it in one line.
// Only host, port, dbname and user are ever copied out of libpq's option arrays.
#include "config/target.hpp"

#include <libpq-fe.h>

#include <cstring>
#include <memory>

#include "chatledger/version.hpp"

namespace chatledger {

namespace {

using options = std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;

/// The value of `keyword` in a libpq option array; "" when unset.
std::string value_of(const PQconninfoOption* opts, const char* keyword) {
    for (auto* o = opts; o && o->keyword; ++o)
        if (std::strcmp(o->keyword, keyword) == 0)
            return o->val ? o->val : "";
    return "";
}

}  // namespace

database_target resolve_target(const database_config& db) {
    // connection::open passes conninfo as an expandable dbname: a word with no "=" that is not
    // a URI is a database name, which PQconninfoParse alone would refuse.
    const bool plain_name = db.conninfo.find('=') == std::string::npos &&
                            db.conninfo.rfind("postgresql://", 0) != 0 &&
                            db.conninfo.rfind("postgres://", 0) != 0;
    char* err = nullptr;
    options given(PQconninfoParse(plain_name ? "" : db.conninfo.c_str(), &err), &PQconninfoFree);
    if (err)
        PQfreemem(err);  // its text could quote the conninfo, password included
    if (!given)
        return {"(invalid conninfo)", "(invalid conninfo)", "(invalid conninfo)",
                "(invalid conninfo)"};
    // PQconndefaults() holds what the environment and the OS supply where conninfo is silent.
    options defaults(PQconndefaults(), &PQconninfoFree);
    auto pick = [&](const char* keyword) {
        std::string v = value_of(given.get(), keyword);
        return v.empty() ? value_of(defaults.get(), keyword) : v;
    };
    database_target t;
    t.host = pick("host");
    if (t.host.empty())
        t.host = pick("hostaddr");
    if (t.host.empty())
        t.host = "(default socket)";
    t.port = pick("port");
    t.user = pick("user");
    t.dbname = plain_name && !db.conninfo.empty() ? db.conninfo : pick("dbname");
    if (t.dbname.empty())
        t.dbname = t.user;
    return t;
}

std::string describe_target(const config& cfg) {
    const auto t = resolve_target(cfg.database);
    return "config " + (cfg.source.empty() ? std::string("(built-in defaults)") : cfg.source) +
           ", database host=" + t.host + " port=" + t.port + " dbname=" + t.dbname +
           " user=" + t.user + ", legacy table " + cfg.legacy.table.display() + ", ledger schema " +
           cfg.ledger.schema.name();
}

std::string start_line(const std::string& program, const std::string& what, const config& cfg) {
    return program + " " + chatledger::version + " starting" + (what.empty() ? "" : " " + what) +
           ": " + describe_target(cfg);
}

}  // namespace chatledger
