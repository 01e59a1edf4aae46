-- Faster reports (issue 6 targets): two additions, each filled for the data
-- already in activity.events by a backfill at the end of this file.
--
-- 1. `visits` rows in activity.rollups. The existing `traffic` rows keep one
--    uniq() state per event type, so active-visitors merged five large
--    states per bucket. The view now also writes, per minute, hour and day
--    (`visits`, `visits/hour`, `visits/day`), ONE row per site and bucket
--    with the visitors and sessions states over every event type (dim1 =
--    dim2 = '', events = 0: these rows carry only the states). A uniq()
--    state merged from per-type states equals the state over all rows, so
--    the answers do not change.
--    The view is changed in place with MODIFY QUERY (one view, one pipeline
--    per insert, see 0002), so no insert is missed while this runs.
--
-- 2. activity.search_clicks: the search and click events only, narrow, with
--    the keyword already normalized and the session key (session_id, or the
--    visitor when there is none) computed, sorted by hour. content-gaps
--    and search-conversion pair searches with later clicks per session; they
--    read this table instead of scanning the wide events table. Fed by a
--    second view whose WHERE drops every other event type.
--    Copies of one event collapse on merge (ReplacingMergeTree), and the
--    reports count each distinct search event once, as before.
--    It holds user_key and session ids: a visitor purge must delete from it
--    too (ALTER TABLE activity.search_clicks DELETE WHERE user_key IN ...).
--
-- BACKFILL. A materialized view only sees rows inserted after it exists, so
-- the last two statements copy what activity.events already holds (bots left
-- out, as in the views). They run after the views exist: a row inserted
-- in between is seen by both, which changes nothing (uniq states are
-- idempotent, and search_clicks copies collapse and are counted once). On a
-- large table this backfill reads every search, click and visitor once; it
-- is safe to re-run if the migration is interrupted.

ALTER TABLE activity.rollups_mv {{ON_CLUSTER}} MODIFY QUERY
WITH
    lowerUTF8(trimBoth(replaceRegexpAll(search_keyword, '\\s+', ' '))) AS keyword,
    multiIf(personalized = 1, 'personalized', personalized = 0, 'default', 'unknown') AS variant,
    multiIf(product_id != '', 'product', promotion_id != '', 'promotion', 'element') AS click_kind,
    multiIf(product_id != '', product_id, promotion_id != '', promotion_id,
            element_id != '', concat('#', element_id),
            element_selector != '', element_selector,
            concat(element_tag, ':', substring(element_text, 1, 64))) AS click_target,
    arrayConcat(
        [('traffic', '', toString(type), 0., '')],
        if(type = 'search' AND keyword != '', [('search', keyword, '', toFloat64(ifNull(results_count, 1) = 0), '')], []),
        if(type = 'page_view', [('page_view', page_path, '', 0., '')], []),
        if(type = 'scroll' AND depth_pct IS NOT NULL,
           [('scroll', page_path, toString(least(intDiv(assumeNotNull(depth_pct), 25) * 25, 100)), toFloat64(assumeNotNull(depth_pct)), '')], []),
        if(type = 'click', [('click', click_kind, click_target, 0., substring(element_text, 1, 128))], []),
        if(type = 'promotion_view',
           arrayMap(id -> ('promo_impression', id, variant, 0., ''),
                    arrayDistinct(arrayFilter(x -> x != '', arrayConcat(promotion_ids, [promotion_id])))), []),
        if(type = 'click' AND promotion_id != '', [('promo_click', promotion_id, variant, 0., '')], [])
    ) AS base
SELECT
    site,
    m.1 AS metric,
    multiIf(m.1 IN ('traffic', 'visits'), toStartOfMinute(date), endsWith(m.1, '/day'), toStartOfDay(date), toStartOfHour(date)) AS bucket,
    m.2 AS dim1,
    m.3 AS dim2,
    if(startsWith(m.1, 'visits'), 0, count()) AS events,
    sum(m.4) AS amount,
    any(m.5) AS label,
    uniqState(user_key) AS visitors,
    uniqStateIf(session_id, session_id != '') AS sessions
FROM activity.events
ARRAY JOIN arrayConcat(
    base,
    arrayMap(x -> (concat(x.1, '/day'), x.2, x.3, x.4, x.5), base),
    [('traffic/hour', '', toString(type), 0., ''),
     ('visits', '', '', 0., ''), ('visits/hour', '', '', 0., ''), ('visits/day', '', '', 0., '')]
) AS m
WHERE is_bot = 0
GROUP BY site, metric, bucket, dim1, dim2;

CREATE TABLE IF NOT EXISTS activity.search_clicks {{ON_CLUSTER}}
(
    site         LowCardinality(String),
    -- session_id, or user_key for an event without one (as the reports group)
    session      String,
    date         DateTime64(3, 'UTC'),
    -- 0 search, 1 click on anything else, 2 click on a product
    kind         UInt8,
    -- searches only ('' for clicks)
    event_id     String,
    keyword      String,
    zero_results UInt8,
    user_key     String
)
ENGINE = {{REPLICATED}}ReplacingMergeTree
PARTITION BY toYYYYMM(date)
-- The hour first, so that a report's time range selects the granules to
-- read; the whole key identifies a row, so copies of an event collapse.
ORDER BY (site, toStartOfHour(date), session, date, kind, event_id)
TTL toDateTime(date) + INTERVAL {{EVENTS_TTL_DAYS}} DAY
SETTINGS non_replicated_deduplication_window = 20000, replicated_deduplication_window = 20000;

CREATE MATERIALIZED VIEW IF NOT EXISTS activity.search_clicks_mv {{ON_CLUSTER}}
TO activity.search_clicks AS
SELECT
    site,
    if(session_id != '', session_id, user_key) AS session,
    date,
    toUInt8(multiIf(type = 'search', 0, product_id != '', 2, 1)) AS kind,
    if(type = 'search', event_id, '') AS event_id,
    if(type = 'search', lowerUTF8(trimBoth(replaceRegexpAll(search_keyword, '\\s+', ' '))), '') AS keyword,
    toUInt8(type = 'search' AND ifNull(results_count, 1) = 0) AS zero_results,
    user_key
FROM activity.events
WHERE type IN ('search', 'click') AND is_bot = 0;

-- Backfill (see the top of this file).
INSERT INTO activity.rollups (site, metric, bucket, dim1, dim2, events, amount, label, visitors, sessions)
SELECT
    site,
    m AS metric,
    multiIf(m = 'visits', toStartOfMinute(date), m = 'visits/hour', toStartOfHour(date), toStartOfDay(date)) AS bucket,
    '' AS dim1,
    '' AS dim2,
    toUInt64(0) AS events,
    toFloat64(0) AS amount,
    '' AS label,
    uniqState(user_key) AS visitors,
    uniqStateIf(session_id, session_id != '') AS sessions
FROM activity.events
ARRAY JOIN ['visits', 'visits/hour', 'visits/day'] AS m
WHERE is_bot = 0
GROUP BY site, metric, bucket;

INSERT INTO activity.search_clicks (site, session, date, kind, event_id, keyword, zero_results, user_key)
SELECT
    site,
    if(session_id != '', session_id, user_key) AS session,
    date,
    toUInt8(multiIf(type = 'search', 0, product_id != '', 2, 1)) AS kind,
    if(type = 'search', event_id, '') AS event_id,
    if(type = 'search', lowerUTF8(trimBoth(replaceRegexpAll(search_keyword, '\\s+', ' '))), '') AS keyword,
    toUInt8(type = 'search' AND ifNull(results_count, 1) = 0) AS zero_results,
    user_key
FROM activity.events
WHERE type IN ('search', 'click') AND is_bot = 0
SETTINGS max_partitions_per_insert_block = 0;
