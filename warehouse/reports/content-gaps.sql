-- Searches that led to no click in the same session within 30 minutes:
-- what visitors look for and do not find. Each distinct search event is
-- counted once (copies share their session and collapse in groupUniqArray).
--
-- Two parts, added up per keyword:
-- * closed hours (0005): activity.search_outcomes_hourly holds, per site,
--   hour and keyword, the outcomes of the whole hours before the closed
--   horizon (activity.search_outcomes_state), kept by the closer
--   (src/search-outcomes.ts), and per whole day once the day is closed;
-- * the rest, computed here from activity.search_clicks (0004: search and
--   click events only, keyword normalized, session = session_id or the
--   visitor): a partial first hour, and the hours from the horizon to
--   `until`, with the clicks up to 30 minutes after them.
-- With no closed hour this is the whole range, as before 0005.
-- Visitors: distinct sipHash64 of the visitor keys of the keyword's searches
-- (0006), exact but for a 64-bit hash collision between two of them.
WITH
    {since:DateTime64(3, 'UTC')} AS since_t,
    {until:DateTime64(3, 'UTC')} AS until_t,
    (SELECT max(horizon) FROM activity.search_outcomes_state) AS horizon,
    -- the whole hours of the range read from the cache: [cache_from, cache_to)
    toDateTime(if(toStartOfHour(since_t) = since_t, toStartOfHour(since_t), toStartOfHour(since_t) + INTERVAL 1 HOUR), 'UTC') AS cache_from,
    greatest(cache_from, least(toDateTime(toStartOfHour(until_t), 'UTC'), horizon)) AS cache_to,
    -- of those, the whole days read from the day rows: [first_day, end_days)
    if(toStartOfDay(cache_from) = cache_from, cache_from, toStartOfDay(cache_from) + INTERVAL 1 DAY) AS first_day,
    greatest(first_day, toStartOfDay(cache_to)) AS end_days,
    lowerUTF8(trimBoth(replaceRegexpAll({keyword:String}, '\\s+', ' '))) AS keyword_filter,
    per_session AS (
        SELECT
            session,
            groupUniqArrayIf((event_id, date, keyword, user_key, zero_results = 1), kind = 0) AS session_searches,
            groupArrayIf(date, kind != 0) AS clicks
        -- two time ranges in one read (two reads cost the planner ~9 ms more);
        -- each also on the sort key's hour, so that it skips granules
        FROM activity.search_clicks
        WHERE ({site:String} = '' OR site = {site:String})
          AND ((date >= since_t
                AND date < least(until_t, toDateTime64(cache_from, 3, 'UTC')) + INTERVAL 30 MINUTE
                AND toStartOfHour(date) >= toStartOfHour(since_t)
                AND toStartOfHour(date) <= toStartOfHour(least(until_t, toDateTime64(cache_from, 3, 'UTC')) + INTERVAL 30 MINUTE))
            OR (date >= greatest(since_t, toDateTime64(cache_to, 3, 'UTC'))
                AND date < until_t + INTERVAL 30 MINUTE
                AND toStartOfHour(date) >= toStartOfHour(greatest(since_t, toDateTime64(cache_to, 3, 'UTC')))
                AND toStartOfHour(date) <= toStartOfHour(until_t + INTERVAL 30 MINUTE)))
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
    WHERE all_sites = ({site:String} = '') AND site = {site:String}
      AND ((whole_day = 0 AND hour >= cache_from AND hour < cache_to AND (hour < first_day OR hour >= end_days))
           OR (whole_day = 1 AND hour >= first_day AND hour < end_days))
      AND ({keyword:String} = '' OR positionUTF8(keyword, keyword_filter) > 0)
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
