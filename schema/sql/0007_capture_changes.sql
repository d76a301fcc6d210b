-- chatledger schema step 0007: what a captured legacy write changed.
-- A write that changes the comment columns and leaves the history as it was is a message of its
-- own even when its words repeat an earlier one; telling that apart needs the old row, which
-- only the capture trigger sees. NULL in events queued before this step: the daemon then
-- compares bodies, as it did.
-- Placeholders in double braces are replaced by quoted identifiers and literals from the configuration.
ALTER TABLE {{ledger}}.sync_queue
    ADD COLUMN comment_changed boolean,
    ADD COLUMN history_changed boolean;
