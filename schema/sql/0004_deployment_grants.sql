-- chatledger schema step 0004: what the daemon and monitoring logins read of the bookkeeping.
-- Both check the schema version before anything else; without these grants a login holding only
-- its ledger role stopped at "permission denied for table schema_history".
-- Placeholders in double braces are replaced by quoted identifiers and literals from the configuration.

-- The history tables are created before step 0001 by whoever ran `schema` first; hand them to
-- the owner like every other ledger object, so no DBA login keeps rights over them.
ALTER TABLE {{ledger}}.schema_history OWNER TO {{owner}};
ALTER TABLE {{ledger}}.schema_repeatable OWNER TO {{owner}};
REVOKE ALL ON {{ledger}}.schema_history, {{ledger}}.schema_repeatable FROM PUBLIC;
GRANT SELECT ON {{ledger}}.schema_history, {{ledger}}.schema_repeatable TO {{reader}}, {{daemon}};
