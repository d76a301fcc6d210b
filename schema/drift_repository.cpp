// SQL for the drift checks. The server builds every remedy with quote_ident and format('%I'),
// from catalog names and bound parameters: no configured text is spliced into a statement.
#include "schema/drift_repository.hpp"

#include "schema/steps.hpp"

namespace chatledger::schema {

namespace {

// One row per role and thing wrong with it. NOLOGIN group roles hold nothing but their
// privileges: LOGIN would let anyone with its password act as the daemon, BYPASSRLS or
// SUPERUSER widen it, and a membership (GRANT chatledger_owner TO chatledger_daemon) hands it
// another role's rights.
constexpr const char* role_sql = R"(
WITH r AS (
    SELECT x.n AS name, x.i, o.* FROM unnest($1::text[]) WITH ORDINALITY AS x(n, i)
    LEFT JOIN pg_catalog.pg_roles o ON o.rolname = x.n
)
SELECT problem, remedy FROM (
SELECT r.i, 0 AS ord, format('role %s does not exist', r.name) AS problem,
       format('CREATE ROLE %I NOLOGIN', r.name) AS remedy
FROM r WHERE r.oid IS NULL
UNION ALL
SELECT r.i, 1,
       format('role %s has %s: a ledger group role has no attribute but NOLOGIN',
              r.name, a.attr),
       format('ALTER ROLE %I %s', r.name, a.fix)
FROM r CROSS JOIN LATERAL (VALUES
    ('SUPERUSER', 'NOSUPERUSER', r.rolsuper), ('LOGIN', 'NOLOGIN', r.rolcanlogin),
    ('CREATEROLE', 'NOCREATEROLE', r.rolcreaterole), ('CREATEDB', 'NOCREATEDB', r.rolcreatedb),
    ('REPLICATION', 'NOREPLICATION', r.rolreplication),
    ('BYPASSRLS', 'NOBYPASSRLS', r.rolbypassrls)) AS a(attr, fix, has)
WHERE a.has
UNION ALL
SELECT r.i, 2, format('role %s is a member of %s and so holds its rights', r.name, g.rolname),
       format('REVOKE %I FROM %I', g.rolname, r.name)
FROM r JOIN pg_catalog.pg_auth_members m ON m.member = r.oid
JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
WHERE NOT EXISTS (SELECT FROM unnest($2::text[], $3::text[]) AS a(member, role)
                  WHERE a.member = r.name AND a.role = g.rolname)
) d ORDER BY i, ord, problem
)";

// The ledger schema, its relations and routines, with their owner. A SECURITY DEFINER routine
// owned by the login that restored a dump runs with that login's rights.
constexpr const char* owner_sql = R"(
WITH o AS (SELECT pg_catalog.to_regrole(pg_catalog.quote_ident($2))::oid AS oid),
x AS (
    SELECT 0 AS ord, 'SCHEMA' AS kind, 'schema ' || n.nspname AS label,
           pg_catalog.quote_ident(n.nspname) AS name, n.nspowner AS owner, false AS secdef
    FROM pg_catalog.pg_namespace n WHERE n.oid = pg_catalog.to_regnamespace($1)
    UNION ALL
    SELECT 1, CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                  WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
           CASE c.relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view '
                WHEN 'm' THEN 'materialized view ' ELSE 'table ' END
           || n.nspname || '.' || c.relname,
           format('%I.%I', n.nspname, c.relname), c.relowner, false
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relnamespace = pg_catalog.to_regnamespace($1)
      AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND NOT (c.relkind = 'S' AND EXISTS (
          SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass
          AND d.objid = c.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass
          AND d.deptype IN ('a', 'i')))
    UNION ALL
    SELECT 2, 'ROUTINE', 'function ' || n.nspname || '.' || p.proname || '('
           || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
           format('%I.%I(%s)', n.nspname, p.proname,
                  pg_catalog.pg_get_function_identity_arguments(p.oid)),
           p.proowner, p.prosecdef
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE p.pronamespace = pg_catalog.to_regnamespace($1)
)
SELECT format('%s is owned by %s, not %s%s', x.label, pg_catalog.pg_get_userbyid(x.owner), $2,
              CASE WHEN x.secdef THEN format(': SECURITY DEFINER, it runs with the rights of %s',
                                             pg_catalog.pg_get_userbyid(x.owner)) ELSE '' END),
       format('ALTER %s %s OWNER TO %I', x.kind, x.name, $2)
FROM x, o WHERE o.oid IS NOT NULL AND x.owner <> o.oid ORDER BY x.ord, x.label
)";

// What each grantee holds (aclexplode of the object's ACL, its column ACLs, and the default
// ACL where none was ever set: EXECUTE for PUBLIC on a routine) against what the steps grant.
// Grouped per object and grantee, column privileges per privilege, so a restored GRANT ALL
// reads as one line per role.
constexpr const char* grant_sql = R"(
WITH expected AS (
    SELECT e.kind, CASE e.kind WHEN 'SCHEMA' THEN pg_catalog.to_regnamespace(e.object)::oid
                               WHEN 'ROUTINE' THEN pg_catalog.to_regprocedure(e.object)::oid
                               ELSE pg_catalog.to_regclass(e.object)::oid END AS oid,
           e.col, pg_catalog.to_regrole(pg_catalog.quote_ident(e.grantee))::oid AS grantee, e.priv
    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
         AS e(kind, object, col, grantee, priv)
), roles AS (
    SELECT pg_catalog.to_regrole(pg_catalog.quote_ident(r))::oid AS oid FROM unnest($7::text[]) AS r
), objects AS (
    SELECT 'SCHEMA' AS kind, n.oid, 'schema ' || n.nspname AS label,
           pg_catalog.quote_ident(n.nspname) AS name, n.nspowner AS owner,
           coalesce(n.nspacl, pg_catalog.acldefault('n'::"char", n.nspowner)) AS acl, true AS ours
    FROM pg_catalog.pg_namespace n WHERE n.oid = pg_catalog.to_regnamespace($1)
    UNION ALL
    SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid,
           CASE c.relkind WHEN 'S' THEN 'sequence ' ELSE 'table ' END
           || n.nspname || '.' || c.relname,
           format('%I.%I', n.nspname, c.relname), c.relowner,
           coalesce(c.relacl,
                    pg_catalog.acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char",
                                          c.relowner)),
           c.relnamespace = pg_catalog.to_regnamespace($1)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND (c.relnamespace = pg_catalog.to_regnamespace($1)
           OR c.oid IN (SELECT e.oid FROM expected e WHERE e.kind IN ('TABLE', 'SEQUENCE')))
    UNION ALL
    SELECT 'ROUTINE', p.oid, 'function ' || n.nspname || '.' || p.proname || '('
           || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
           format('%I.%I(%s)', n.nspname, p.proname,
                  pg_catalog.pg_get_function_identity_arguments(p.oid)),
           p.proowner, coalesce(p.proacl, pg_catalog.acldefault('f'::"char", p.proowner)), true
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE p.pronamespace = pg_catalog.to_regnamespace($1)
), granted AS (
    SELECT o.kind, o.oid, o.label, o.name, o.ours, ''::text AS col, a.grantee,
           a.privilege_type AS priv, a.is_grantable AS grantable
    FROM objects o CROSS JOIN LATERAL pg_catalog.aclexplode(o.acl) AS a
    WHERE a.grantee <> o.owner
    UNION ALL
    SELECT o.kind, o.oid, o.label, o.name, o.ours, t.attname::text, a.grantee, a.privilege_type,
           a.is_grantable
    FROM objects o JOIN pg_catalog.pg_attribute t ON o.kind = 'TABLE' AND t.attrelid = o.oid
         AND t.attacl IS NOT NULL AND NOT t.attisdropped
    CROSS JOIN LATERAL pg_catalog.aclexplode(t.attacl) AS a
    WHERE a.grantee <> o.owner
), seen AS (
    SELECT DISTINCT g.kind, g.oid, g.label, g.name, g.col, g.grantee, g.priv, g.grantable,
           EXISTS (SELECT FROM expected e WHERE e.oid = g.oid AND e.kind = g.kind AND e.col = g.col
                   AND e.grantee = g.grantee AND e.priv = g.priv) AS granted_by_steps
    FROM granted g WHERE g.ours OR g.grantee IN (SELECT oid FROM roles)
), diff AS (
    SELECT DISTINCT 1 AS ord, s.kind, s.label, s.name, s.col, s.grantee, s.priv
    FROM seen s WHERE NOT s.granted_by_steps
    UNION ALL
    SELECT DISTINCT 2, s.kind, s.label, s.name, s.col, s.grantee, s.priv
    FROM seen s WHERE s.granted_by_steps AND s.grantable
    UNION ALL
    SELECT DISTINCT 3, o.kind, o.label, o.name, e.col, e.grantee, e.priv
    FROM expected e JOIN objects o ON o.oid = e.oid AND o.kind = e.kind
    WHERE e.grantee IS NOT NULL AND NOT EXISTS (
        SELECT FROM seen s WHERE s.oid = e.oid AND s.kind = e.kind AND s.col = e.col
        AND s.grantee = e.grantee AND s.priv = e.priv)
), grouped AS (
    SELECT ord, kind, label, name, grantee, string_agg(priv, ', ' ORDER BY priv) AS privs,
           '' AS cols, '' AS qcols
    FROM diff WHERE col = '' GROUP BY ord, kind, label, name, grantee
    UNION ALL
    SELECT ord, kind, label, name, grantee, priv, ' (' || string_agg(col, ', ' ORDER BY col) || ')',
           ' (' || string_agg(pg_catalog.quote_ident(col), ', ' ORDER BY col) || ')'
    FROM diff WHERE col <> '' GROUP BY ord, kind, label, name, grantee, priv
), named AS (
    SELECT g.*,
           CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(g.grantee) END
           AS who,
           CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END AS qwho
    FROM grouped g
)
SELECT CASE ord WHEN 1 THEN format('%s holds %s%s on %s, which no schema step grants',
                                   who, privs, cols, label)
                WHEN 2 THEN format('%s holds %s%s on %s WITH GRANT OPTION, so it can grant it on',
                                   who, privs, cols, label)
                ELSE format('%s lacks %s%s on %s, which the schema steps grant it',
                            who, privs, cols, label) END,
       CASE ord WHEN 1 THEN format('REVOKE %s%s ON %s %s FROM %s CASCADE',
                                   privs, qcols, kind, name, qwho)
                WHEN 2 THEN format('REVOKE GRANT OPTION FOR %s%s ON %s %s FROM %s CASCADE',
                                   privs, qcols, kind, name, qwho)
                ELSE format('GRANT %s%s ON %s %s TO %s', privs, qcols, kind, name, qwho) END
FROM named ORDER BY ord, label, who, privs
)";

// The table's flags, then its policies and the logins that row_security = off stops there.
constexpr const char* row_security_sql = R"(
SELECT 'flags', c.relrowsecurity::text, c.relforcerowsecurity::text
FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)
UNION ALL
SELECT 'policy', p.polname::text, '' FROM pg_catalog.pg_policy p
WHERE p.polrelid = pg_catalog.to_regclass($1)
UNION ALL
(WITH RECURSIVE m AS (
     SELECT member FROM pg_catalog.pg_auth_members
     WHERE roleid IN (pg_catalog.to_regrole(pg_catalog.quote_ident($2)),
                      pg_catalog.to_regrole(pg_catalog.quote_ident($3)))
     UNION SELECT a.member FROM pg_catalog.pg_auth_members a JOIN m ON a.roleid = m.member)
 SELECT 'login', rolname::text, '' FROM pg_catalog.pg_roles
 WHERE rolcanlogin AND NOT rolsuper AND NOT rolbypassrls AND oid IN (SELECT member FROM m))
ORDER BY 1, 2
)";

}  // namespace

std::vector<drift> drift_repository::drifts(const pg::result& r) {
    std::vector<drift> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({std::string(r.text(i, 0)), std::string(r.text(i, 1))});
    return out;
}

std::vector<drift> drift_repository::role_drift(const std::vector<allowed_membership>& allowed) {
    std::vector<std::string> members, roles;
    for (const auto& a : allowed) {
        members.push_back(a.member);
        roles.push_back(a.role);
    }
    return drifts(conn_.exec("checking the ledger's roles", role_sql,
                             {pg::array_literal(group_role_names(cfg_)), pg::array_literal(members),
                              pg::array_literal(roles)}));
}

std::vector<drift> drift_repository::owner_drift() {
    return drifts(conn_.exec("checking who owns the ledger's objects", owner_sql,
                             {cfg_.ledger.schema.quoted(), roles_for(cfg_).owner.name()}));
}

std::vector<drift> drift_repository::grant_drift(const std::vector<expected_grant>& expected) {
    std::vector<std::string> kinds, objects, columns, grantees, privileges;
    for (const auto& e : expected) {
        kinds.push_back(e.kind);
        objects.push_back(e.object);
        columns.push_back(e.column);
        grantees.push_back(e.grantee);
        privileges.push_back(e.privilege);
    }
    return drifts(conn_.exec(
        "checking the privileges on the ledger's objects", grant_sql,
        {cfg_.ledger.schema.quoted(), pg::array_literal(kinds), pg::array_literal(objects),
         pg::array_literal(columns), pg::array_literal(grantees), pg::array_literal(privileges),
         pg::array_literal(group_role_names(cfg_))}));
}

std::optional<std::string> drift_repository::restore(const drift& d) {
    const std::string what = "restoring the ledger's set-up";
    conn_.exec(what, "SAVEPOINT chatledger_restore");
    try {
        conn_.exec_script(what, d.remedy);
    } catch (const pg::connection_error&) {
        throw;
    } catch (const pg::db_error& e) {
        conn_.exec(what, "ROLLBACK TO SAVEPOINT chatledger_restore");
        conn_.exec(what, "RELEASE SAVEPOINT chatledger_restore");
        // The server's words, without the "... failed: " every error line opens with.
        std::string refusal = e.what();
        if (refusal.starts_with(what + " failed: "))
            refusal.erase(0, what.size() + 9);
        return "the server refused it: " + refusal;
    }
    conn_.exec("restoring the ledger's set-up", "RELEASE SAVEPOINT chatledger_restore");
    return std::nullopt;
}

bool drift_repository::join_owner_role() {
    const std::string owner = roles_for(cfg_).owner.name();
    auto r = conn_.exec("checking the schema login's membership in the owner role",
                        "SELECT NOT rolsuper AND pg_catalog.to_regrole(pg_catalog.quote_ident($1)) "
                        "IS NOT NULL AND NOT pg_catalog.pg_has_role(current_user, "
                        "pg_catalog.to_regrole(pg_catalog.quote_ident($1)), 'MEMBER') "
                        "FROM pg_catalog.pg_roles WHERE rolname = current_user",
                        {owner});
    if (r.rows() == 0 || !r.boolean(0, 0))
        return false;
    return !restore({"", "GRANT " + roles_for(cfg_).owner.quoted() + " TO CURRENT_USER"});
}

std::string drift_repository::serial_sequence(const qualified_name& table) {
    auto r = conn_.exec("looking for the sequence of " + table.display(),
                        "SELECT pg_catalog.pg_get_serial_sequence($1, 'id') WHERE "
                        "pg_catalog.to_regclass($1) IS NOT NULL",
                        {table.quoted()});
    return r.rows() == 0 || r.is_null(0, 0) ? std::string() : std::string(r.text(0, 0));
}

drift_repository::row_security drift_repository::legacy_row_security() {
    const auto roles = roles_for(cfg_);
    auto r = conn_.exec("checking row level security on the legacy table", row_security_sql,
                        {cfg_.legacy.table.quoted(), roles.daemon.name(), roles.reader.name()});
    row_security s;
    for (int i = 0; i < r.rows(); ++i) {
        const auto kind = r.text(i, 0);
        if (kind == "flags") {
            s.enabled = r.text(i, 1) == "true";
            s.forced = r.text(i, 2) == "true";
        } else if (kind == "policy") {
            s.policies.emplace_back(r.text(i, 1));
        } else {
            s.logins_without_bypass.emplace_back(r.text(i, 1));
        }
    }
    return s;
}

}  // namespace chatledger::schema
