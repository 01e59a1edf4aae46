-- Search -> product click conversion per keyword: share of searches followed
-- by a click on a product in the same session within 30 minutes; each
-- distinct search event counted once. Closed hours from
-- activity.search_outcomes_hourly (0005), the rest (a partial first hour,
-- the hours from the closed horizon to `until`) computed from
-- activity.search_clicks: see content-gaps.sql.
WITH
    {since:DateTime64(3, 'UTC')} AS since_t,
    {until:DateTime64(3, 'UTC')} AS until_t,
    (SELECT max(horizon) FROM activity.search_outcomes_state) AS horizon,
    toDateTime(if(toStartOfHour(since_t) = since_t, toStartOfHour(since_t), toStartOfHour(since_t) + INTERVAL 1 HOUR), 'UTC') AS cache_from,
    greatest(cache_from, least(toDateTime(toStartOfHour(until_t), 'UTC'), horizon)) AS cache_to,
    -- of those, the whole days read from the day rows: [first_day, end_days)
    if(toStartOfDay(cache_from) = cache_from, cache_from, toStartOfDay(cache_from) + INTERVAL 1 DAY) AS first_day,
    greatest(first_day, toStartOfDay(cache_to)) AS end_days,
    lowerUTF8(trimBoth(replaceRegexpAll({keyword:String}, '\\s+', ' '))) AS keyword_filter,
    per_session AS (
        SELECT
            session,
            groupUniqArrayIf((event_id, date, keyword), kind = 0) AS session_searches,
            groupArrayIf(date, kind = 2) AS product_clicks
        FROM
        (
            -- two plain time ranges (each selects its granules); a row in both
            -- changes nothing: searches are distinct, clicks only tested
            SELECT session, kind, event_id, date, keyword
            FROM activity.search_clicks
            WHERE ({site:String} = '' OR site = {site:String})
              AND date >= since_t
              AND date < least(until_t, toDateTime64(cache_from, 3, 'UTC')) + INTERVAL 30 MINUTE
              -- the same range on the sort key's hour, so that it skips granules
              AND toStartOfHour(date) >= toStartOfHour(since_t)
              AND toStartOfHour(date) <= toStartOfHour(least(until_t, toDateTime64(cache_from, 3, 'UTC')) + INTERVAL 30 MINUTE)
            UNION ALL
            SELECT session, kind, event_id, date, keyword
            FROM activity.search_clicks
            WHERE ({site:String} = '' OR site = {site:String})
              AND date >= greatest(since_t, toDateTime64(cache_to, 3, 'UTC'))
              AND date < until_t + INTERVAL 30 MINUTE
              AND toStartOfHour(date) >= toStartOfHour(greatest(since_t, toDateTime64(cache_to, 3, 'UTC')))
              AND toStartOfHour(date) <= toStartOfHour(until_t + INTERVAL 30 MINUTE)
        )
        GROUP BY session
    )
SELECT
    keyword,
    sum(n_searches) AS searches,
    sum(n_converted) AS converted,
    round(converted / searches, 4) AS conversion_rate
FROM
(
    SELECT keyword, conversion_searches AS n_searches, converted AS n_converted
    FROM activity.search_outcomes_hourly
    WHERE all_sites = ({site:String} = '') AND site = {site:String}
      AND ((whole_day = 0 AND hour >= cache_from AND hour < cache_to AND (hour < first_day OR hour >= end_days))
           OR (whole_day = 1 AND hour >= first_day AND hour < end_days))
      AND ({keyword:String} = '' OR positionUTF8(keyword, keyword_filter) > 0)
    UNION ALL
    SELECT
        s.3 AS keyword,
        count() AS n_searches,
        countIf(arrayExists(c -> c > s.2 AND c <= s.2 + INTERVAL 30 MINUTE, product_clicks)) AS n_converted
    FROM per_session
    ARRAY JOIN session_searches AS s
    WHERE s.2 < until_t AND (s.2 < cache_from OR s.2 >= cache_to) AND s.3 != ''
      AND ({keyword:String} = '' OR positionUTF8(s.3, keyword_filter) > 0)
    GROUP BY keyword
)
GROUP BY keyword
ORDER BY searches DESC, keyword ASC
LIMIT {limit:UInt32}
