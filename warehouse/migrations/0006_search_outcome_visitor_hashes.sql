-- Distinct visitors of closed hours as hash arrays (issue 6: content-gaps
-- within 100 ms over a week).
--
-- 0005 kept `visitors` as an AggregateFunction(uniqExact, String) state per
-- (site, hour, keyword). content-gaps merges one state per keyword and row of
-- the range (7 day rows plus up to 46 hourly rows at the edges of a relative
-- week: ~127,000 states for 2,400 keywords), and reading a state builds a
-- hash set for it: that alone took ~70 of the report's ~120 ms
-- (warehouse/bench/RESULTS.md). `visitor_hashes` holds the same visitors as
-- the distinct sipHash64 of their keys; the report counts distinct
-- elements with uniqExactArray, a single hash set per keyword, about half the
-- cost. The count equals uniqExact of the keys unless two of the visitors of
-- one keyword share a 64-bit hash (for a million visitors, odds ~3e-8);
-- uniqExact itself hashes strings to 128 bits.
--
-- The cached rows are dropped with the state column, and the closed horizon
-- with them: the reports compute everything from activity.search_clicks (the
-- same answers, slower) until the closer (src/search-outcomes.ts) has closed
-- the days again, on its first run after the migration.

ALTER TABLE activity.search_outcomes_hourly {{ON_CLUSTER}}
    ADD COLUMN IF NOT EXISTS visitor_hashes Array(UInt64) AFTER zero_result_searches;

ALTER TABLE activity.search_outcomes_hourly {{ON_CLUSTER}}
    DROP COLUMN IF EXISTS visitors;

TRUNCATE TABLE IF EXISTS activity.search_outcomes_hourly {{ON_CLUSTER}};

TRUNCATE TABLE IF EXISTS activity.search_outcomes_state {{ON_CLUSTER}};
