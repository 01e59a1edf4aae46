-- Active visitors and sessions over time, from the per-minute, per-hour or
-- per-day traffic rollup; buckets without activity are filled with zeros so
-- charts show the gaps.
SELECT
    bucket AS time,
    sum(r.events) AS events,
    sumIf(r.events, r.dim2 = 'page_view') AS page_views,
    uniqMerge(visitors) AS visitors,
    uniqMerge(sessions) AS sessions
FROM activity.rollups AS r
WHERE metric = multiIf({interval:String} = 'minute', 'traffic', {interval:String} = 'hour', 'traffic/hour', 'traffic/day')
  AND ({site:String} = '' OR site = {site:String})
  AND bucket >= multiIf({interval:String} = 'minute', toStartOfMinute(toDateTime({since:DateTime64(3, 'UTC')}, 'UTC')),
                        {interval:String} = 'hour', toStartOfHour(toDateTime({since:DateTime64(3, 'UTC')}, 'UTC')),
                        toStartOfDay(toDateTime({since:DateTime64(3, 'UTC')}, 'UTC')))
  AND bucket < {until:DateTime64(3, 'UTC')}
GROUP BY time
ORDER BY time ASC
    WITH FILL
    FROM multiIf({interval:String} = 'minute', toStartOfMinute(toDateTime({since:DateTime64(3, 'UTC')}, 'UTC')),
                 {interval:String} = 'hour', toStartOfHour(toDateTime({since:DateTime64(3, 'UTC')}, 'UTC')),
                 toStartOfDay(toDateTime({since:DateTime64(3, 'UTC')}, 'UTC')))
    TO toDateTime({until:DateTime64(3, 'UTC')}, 'UTC')
    STEP multiIf({interval:String} = 'minute', 60, {interval:String} = 'hour', 3600, 86400)
