-- Searches that led to no click in the same session within 30 minutes:
-- what visitors look for and do not find. Raw events; each distinct search
-- event counted once (copies of one event share its session and collapse in
-- groupUniqArray). Sessions without a session_id fall back to the visitor.
WITH per_session AS (
    SELECT
        if(session_id != '', session_id, user_key) AS session,
        groupUniqArrayIf(
            (event_id, date, lowerUTF8(trimBoth(replaceRegexpAll(search_keyword, '\\s+', ' '))), user_key, ifNull(results_count, 1) = 0),
            type = 'search') AS session_searches,
        groupArrayIf(date, type = 'click') AS clicks
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
