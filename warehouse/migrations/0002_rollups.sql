-- Rollups for the reports, kept by ONE materialized view into ONE table.
--
-- Why one: every materialized view runs its own query pipeline on every
-- insert. With seven views (one per rollup) a 170-row insert into the
-- embedded engine took ~70 ms; with one view fanning each event out into
-- metric rows by ARRAY JOIN it takes a fraction of that, and the writer
-- keeps up with one insert per topic-partition per second.
--
-- Every metric is also kept per day (`search/day`, ...), and traffic per
-- minute, hour and day (`traffic`, `traffic/hour`, `traffic/day`). Reports
-- read whole days from the daily rows and only the partial days at the edges
-- of the range from the hourly ones, so a 7-day report reads ~24x fewer rows.
--
-- metric            bucket   dim1                       dim2            amount
-- traffic           minute   ''                         event type      0
-- search            hour     normalized keyword         ''              1 if results_count = 0
-- page_view         hour     page_path                  ''              0
-- scroll            hour     page_path                  depth bucket    depth_pct
--                                                       (0,25,50,75,100)
-- click             hour     product|promotion|element  target id       0
-- promo_impression  hour     promotion_id               personalized|default|unknown
-- promo_click       hour     promotion_id               personalized|default|unknown
--
-- Counts are sums of rows: the processor writes each distinct event once.
-- visitors/sessions are uniq() states: exact for small groups, within about
-- 1% above ~65k distinct values per group. Bots are left out.

CREATE TABLE IF NOT EXISTS activity.rollups {{ON_CLUSTER}}
(
    site     LowCardinality(String),
    metric   LowCardinality(String),
    bucket   DateTime('UTC'),
    dim1     String,
    dim2     String,
    events   SimpleAggregateFunction(sum, UInt64),
    amount   SimpleAggregateFunction(sum, Float64),
    label    SimpleAggregateFunction(any, String),
    visitors AggregateFunction(uniq, String),
    sessions AggregateFunction(uniq, String)
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (site, metric, bucket, dim1, dim2)
TTL bucket + INTERVAL {{EVENTS_TTL_DAYS}} DAY
-- The view's blocks are deduplicated in this table by tokens derived from the
-- source insert's token: without a window here a redelivered batch that the
-- events table drops would still be counted again in the rollups.
SETTINGS non_replicated_deduplication_window = 20000, replicated_deduplication_window = 20000;

CREATE MATERIALIZED VIEW IF NOT EXISTS activity.rollups_mv {{ON_CLUSTER}}
TO activity.rollups AS
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
    multiIf(m.1 = 'traffic', toStartOfMinute(date), endsWith(m.1, '/day'), toStartOfDay(date), toStartOfHour(date)) AS bucket,
    m.2 AS dim1,
    m.3 AS dim2,
    count() AS events,
    sum(m.4) AS amount,
    any(m.5) AS label,
    uniqState(user_key) AS visitors,
    uniqStateIf(session_id, session_id != '') AS sessions
FROM activity.events
ARRAY JOIN arrayConcat(
    base,
    arrayMap(x -> (concat(x.1, '/day'), x.2, x.3, x.4, x.5), base),
    [('traffic/hour', '', toString(type), 0., '')]
) AS m
WHERE is_bot = 0
GROUP BY site, metric, bucket, dim1, dim2;
