-- Search -> product click conversion per keyword: share of searches followed
-- by a click on a product in the same session within 30 minutes. Raw
-- events; each distinct search event counted once.
WITH per_session AS (
    SELECT
        if(session_id != '', session_id, user_key) AS session,
        groupUniqArrayIf(
            (event_id, date, lowerUTF8(trimBoth(replaceRegexpAll(search_keyword, '\\s+', ' ')))),
            type = 'search') AS session_searches,
        groupArrayIf(date, type = 'click' AND product_id != '') AS product_clicks
    FROM activity.events
    WHERE type IN ('search', 'click') AND is_bot = 0
      AND ({site:String} = '' OR site = {site:String})
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
