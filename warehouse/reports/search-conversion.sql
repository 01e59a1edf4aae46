-- Search -> product click conversion per keyword: share of searches followed
-- by a click on a product in the same session within 30 minutes; each
-- distinct search event counted once. Closed hours from
-- activity.search_outcomes_hourly (0005), the rest (a partial first hour,
-- the hours from the closed horizon to `until`) computed from
-- activity.search_clicks: see content-gaps.sql.
WITH
    {{OUTCOMES_BOUNDS}},
    per_session AS (
        SELECT
            session,
            groupUniqArrayIf((event_id, date, keyword), kind = 0) AS session_searches,
            groupArrayIf(date, kind = 2) AS product_clicks
        FROM activity.search_clicks
        WHERE {{OUTCOMES_OPEN_ROWS}}
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
    WHERE {{OUTCOMES_CACHED_ROWS}}
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
