-- Visitors and sessions of the `visits` rows (0004) as uniqCombined states
-- (issue 6: active-visitors within 100 ms over a week).
--
-- active-visitors merges, per bucket, one visitors and one sessions state of
-- the `visits` rows; for a day of the bench data a uniq() state holds its
-- maximum of 65,536 hashes, and reading it rebuilds that hash set: ~70 ms of
-- the report's ~120 ms for 7 days (warehouse/bench/RESULTS.md). A
-- uniqCombined state of that size is an HLL sketch read as one block: over
-- the same days 30-49 ms instead of 69-88, and closer to the exact count
-- (0.01-0.13 % off on the bench days, uniq 0.3-0.5 %). Small sets stay exact
-- in both.
--
-- 1. Two columns for the `visits` rows only; the other rows keep uniq()
--    states in `visitors` / `sessions`, which the other reports merge, and
--    leave these empty.
-- 2. The view writes them (MODIFY QUERY restates 0004's query, changing only
--    the four state columns), and stops writing uniq() states into `visits`
--    rows: active-visitors no longer reads those.
-- 3. Backfill: the `visits` rows of the data already in activity.events get
--    the new states. A row inserted while this runs is seen by the view and
--    the backfill, which changes nothing (states are idempotent). Safe to
--    re-run if the migration is interrupted; on a large table it reads every
--    visitor and session id once, as 0004's backfill did.

ALTER TABLE activity.rollups {{ON_CLUSTER}}
    ADD COLUMN IF NOT EXISTS visitors_combined AggregateFunction(uniqCombined, String),
    ADD COLUMN IF NOT EXISTS sessions_combined AggregateFunction(uniqCombined, String);

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
    uniqStateIf(user_key, NOT startsWith(m.1, 'visits')) AS visitors,
    uniqStateIf(session_id, session_id != '' AND NOT startsWith(m.1, 'visits')) AS sessions,
    uniqCombinedStateIf(user_key, startsWith(m.1, 'visits')) AS visitors_combined,
    uniqCombinedStateIf(session_id, session_id != '' AND startsWith(m.1, 'visits')) AS sessions_combined
FROM activity.events
ARRAY JOIN arrayConcat(
    base,
    arrayMap(x -> (concat(x.1, '/day'), x.2, x.3, x.4, x.5), base),
    [('traffic/hour', '', toString(type), 0., ''),
     ('visits', '', '', 0., ''), ('visits/hour', '', '', 0., ''), ('visits/day', '', '', 0., '')]
) AS m
WHERE is_bot = 0
GROUP BY site, metric, bucket, dim1, dim2;

INSERT INTO activity.rollups (site, metric, bucket, dim1, dim2, events, amount, label, visitors_combined, sessions_combined)
SELECT
    site,
    m AS metric,
    multiIf(m = 'visits', toStartOfMinute(date), m = 'visits/hour', toStartOfHour(date), toStartOfDay(date)) AS bucket,
    '' AS dim1,
    '' AS dim2,
    toUInt64(0) AS events,
    toFloat64(0) AS amount,
    '' AS label,
    uniqCombinedState(user_key) AS visitors_combined,
    uniqCombinedStateIf(session_id, session_id != '') AS sessions_combined
FROM activity.events
ARRAY JOIN ['visits', 'visits/hour', 'visits/day'] AS m
WHERE is_bot = 0
GROUP BY site, metric, bucket;
