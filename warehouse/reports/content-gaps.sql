-- Searches that led to no click in the same session within 30 minutes:
-- what visitors look for and do not find. Each distinct search event is
-- counted once (copies share their session and collapse in groupUniqArray).
--
-- Two parts, added up per keyword (the OUTCOMES_* macros, src/reports/catalog.ts):
-- * closed hours (0005): activity.search_outcomes_hourly holds, per site,
--   hour and keyword, the outcomes of the whole hours before the closed
--   horizon (activity.search_outcomes_state), kept by the closer
--   (src/search-outcomes.ts), and per whole day once the day is closed;
-- * the rest, computed here from activity.search_clicks (0004: search and
--   click events only, keyword normalized, session = session_id or the
--   visitor): a partial first hour, and the hours from the horizon to
--   `until`, with the clicks up to 30 minutes after them.
-- Visitors: distinct sipHash64 of the visitor keys of the keyword's searches
-- (0006), exact but for a 64-bit hash collision between two of them.
WITH
    {{OUTCOMES_BOUNDS}},
    per_session AS (
        SELECT
            session,
            groupUniqArrayIf((event_id, date, keyword, user_key, zero_results = 1), kind = 0) AS session_searches,
            groupArrayIf(date, kind != 0) AS clicks
        FROM activity.search_clicks
        WHERE {{OUTCOMES_OPEN_ROWS}}
        GROUP BY session
    )
SELECT
    keyword,
    sum(n_searches) AS searches,
    sum(n_without_click) AS searches_without_click,
    round(searches_without_click / searches, 4) AS no_click_rate,
    sum(n_zero_results) AS zero_result_searches,
    uniqExactArray(visitor_hashes) AS visitors
FROM
(
    SELECT
        keyword,
        searches AS n_searches,
        searches_without_click AS n_without_click,
        zero_result_searches AS n_zero_results,
        visitor_hashes
    FROM activity.search_outcomes_hourly
    WHERE {{OUTCOMES_CACHED_ROWS}}
    UNION ALL
    SELECT
        s.3 AS keyword,
        count() AS n_searches,
        countIf(NOT arrayExists(c -> c > s.2 AND c <= s.2 + INTERVAL 30 MINUTE, clicks)) AS n_without_click,
        countIf(s.5) AS n_zero_results,
        groupUniqArray(sipHash64(s.4)) AS visitor_hashes
    FROM per_session
    ARRAY JOIN session_searches AS s
    WHERE s.2 < until_t AND (s.2 < cache_from OR s.2 >= cache_to) AND s.3 != ''
      AND ({keyword:String} = '' OR positionUTF8(s.3, keyword_filter) > 0)
    GROUP BY keyword
)
GROUP BY keyword
HAVING searches_without_click > 0
ORDER BY searches_without_click DESC, keyword ASC
LIMIT {limit:UInt32}
