-- Searches that led to no click in the same session within 30 minutes:
-- what visitors look for and do not find. Reads activity.search_clicks
-- (0004: the search and click events only, keyword normalized, session =
-- session_id or the visitor). Each distinct search event
-- is counted once (copies share their session and collapse in
-- groupUniqArray).
WITH per_session AS (
    SELECT
        session,
        groupUniqArrayIf((event_id, date, keyword, user_key, zero_results = 1), kind = 0) AS session_searches,
        groupArrayIf(date, kind != 0) AS clicks
    FROM activity.search_clicks
    WHERE ({site:String} = '' OR site = {site:String})
      AND date >= {since:DateTime64(3, 'UTC')}
      AND date < {until:DateTime64(3, 'UTC')} + INTERVAL 30 MINUTE
    GROUP BY session
)
SELECT
    s.3 AS keyword,
    count() AS searches,
    countIf(NOT arrayExists(c -> c > s.2 AND c <= s.2 + INTERVAL 30 MINUTE, clicks)) AS searches_without_click,
    round(searches_without_click / searches, 4) AS no_click_rate,
    countIf(s.5) AS zero_result_searches,
    uniqExact(s.4) AS visitors
FROM per_session
ARRAY JOIN session_searches AS s
WHERE s.2 < {until:DateTime64(3, 'UTC')} AND s.3 != ''
  AND ({keyword:String} = '' OR positionUTF8(s.3, lowerUTF8(trimBoth(replaceRegexpAll({keyword:String}, '\\s+', ' ')))) > 0)
GROUP BY keyword
HAVING searches_without_click > 0
ORDER BY searches_without_click DESC, keyword ASC
LIMIT {limit:UInt32}
