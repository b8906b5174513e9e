-- 007: every stage claim and completion updates its run and run_stages rows.
-- When no indexed column changes and the page has room, Postgres updates the
-- row in place (a HOT update: no new index entries), which is most of the
-- write cost per transition. `updated_at` leaves the status index (no query
-- orders by it) and both tables keep free space on their pages.
DROP INDEX runs_status_idx;
CREATE INDEX runs_status_idx ON runs (status);
ALTER TABLE runs SET (fillfactor = 70);
ALTER TABLE run_stages SET (fillfactor = 70);
