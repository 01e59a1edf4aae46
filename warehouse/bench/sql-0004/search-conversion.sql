-- Search -> product click conversion per keyword: share of searches followed
-- by a click on a product in the same session within 30 minutes. Reads
-- activity.search_clicks (0004, see content-gaps.sql); each distinct search
-- event counted once.
WITH per_session AS (
    SELECT
        session,
        groupUniqArrayIf((event_id, date, keyword), kind = 0) AS session_searches,
        groupArrayIf(date, kind = 2) AS product_clicks
    FROM activity.search_clicks
    WHERE ({site:String} = '' OR site = {site:String})
      AND date >= {since:DateTime64(3, 'UTC')}
      AND date < {until:DateTime64(3, 'UTC')} + INTERVAL 30 MINUTE
    GROUP BY session
)
SELECT
    s.3 AS keyword,
    count() AS searches,
    countIf(arrayExists(c -> c > s.2 AND c <= s.2 + INTERVAL 30 MINUTE, product_clicks)) AS converted,
    round(converted / searches, 4) AS conversion_rate
FROM per_session
ARRAY JOIN session_searches AS s
WHERE s.2 < {until:DateTime64(3, 'UTC')} AND s.3 != ''
  AND ({keyword:String} = '' OR positionUTF8(s.3, lowerUTF8(trimBoth(replaceRegexpAll({keyword:String}, '\\s+', ' ')))) > 0)
GROUP BY keyword
ORDER BY searches DESC, keyword ASC
LIMIT {limit:UInt32}
