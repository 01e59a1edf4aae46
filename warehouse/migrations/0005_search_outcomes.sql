-- Search outcomes kept per closed hour (issue 6: content-gaps and
-- search-conversion within 100 ms over a week). Both reports pair each search
-- with later clicks of its session within 30 minutes; searches and clicks
-- arrive in different inserts, so no view can pair them. Instead the
-- "closer" (src/search-outcomes.ts, run by the analytics processor) computes,
-- once an hour can no longer change, per site, hour and keyword what both
-- reports need, and the reports read these rows for the closed hours and
-- compute only the still-open tail from activity.search_clicks.
--
-- 1. activity.search_clicks.inserted_at: when the row was written (the
--    default, filled at insert, also for the rows its view writes). The closer
--    re-closes the hours that received rows after its previous run (events
--    arriving later than the lateness allowance). The rows already in the
--    table get the time of this migration (MATERIALIZE): the first run of the
--    closer closes every hour anyway. A minmax index lets that look-up skip
--    the granules written long ago.
--
-- 2. activity.search_outcomes_hourly: one row per (all_sites, site, hour,
--    keyword) for each closed hour (whole_day = 0), and once a day is closed
--    whole, one more per (all_sites, site, day, keyword) with whole_day = 1
--    and hour = the day's start: a week then merges 7 day rows per keyword
--    plus the hours of the partial days at its edges, as the rollups do.
--    all_sites = 1 rows count every site
--    together, pairing by session alone, exactly as the reports do with
--    site='' (their site column is ''). The counts follow the reports'
--    dedup rules: content-gaps counts distinct (event_id, date, keyword,
--    user_key, zero_results) per session, search-conversion distinct
--    (event_id, date, keyword), hence two search counts. `visitors` is a
--    uniqExact state of user_key, which merges to the exact uniqExact of the
--    report. One partition per day: the closer rewrites a day by REPLACE
--    PARTITION from a staging table, atomically, so re-closing never double
--    counts and a report never sees a half-written day.
--
-- 3. activity.search_outcomes_state: the closed horizon (every hour before it
--    is in search_outcomes_hourly) and when the closer last looked for late
--    rows. The reports read max(horizon); with no row it is 1970 and they
--    compute everything from search_clicks, as before.
--
-- Holds no visitor key: a consent purge re-closes the days of the purged
-- visitor's rows (processors/analytics/src/purge.ts), which removes them
-- from the visitors states and counts.

ALTER TABLE activity.search_clicks {{ON_CLUSTER}}
    ADD COLUMN IF NOT EXISTS inserted_at DateTime64(3, 'UTC') DEFAULT now64(3);

ALTER TABLE activity.search_clicks {{ON_CLUSTER}} MATERIALIZE COLUMN inserted_at SETTINGS mutations_sync = 2;

ALTER TABLE activity.search_clicks {{ON_CLUSTER}}
    ADD INDEX IF NOT EXISTS inserted_at_minmax inserted_at TYPE minmax GRANULARITY 1;

ALTER TABLE activity.search_clicks {{ON_CLUSTER}} MATERIALIZE INDEX inserted_at_minmax SETTINGS mutations_sync = 2;

CREATE TABLE IF NOT EXISTS activity.search_outcomes_hourly {{ON_CLUSTER}}
(
    all_sites              UInt8,
    site                   LowCardinality(String),
    whole_day              UInt8,
    hour                   DateTime('UTC'),
    keyword                String,
    -- content-gaps
    searches               UInt64,
    searches_without_click UInt64,
    zero_result_searches   UInt64,
    visitors               AggregateFunction(uniqExact, String),
    -- search-conversion
    conversion_searches    UInt64,
    converted              UInt64
)
ENGINE = {{REPLICATED}}MergeTree
PARTITION BY toYYYYMMDD(hour)
ORDER BY (all_sites, site, whole_day, hour, keyword)
TTL hour + INTERVAL {{EVENTS_TTL_DAYS}} DAY;

CREATE TABLE IF NOT EXISTS activity.search_outcomes_state {{ON_CLUSTER}}
(
    horizon    DateTime('UTC'),
    checked_at DateTime64(3, 'UTC'),
    closed_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(closed_at)
ORDER BY tuple();
