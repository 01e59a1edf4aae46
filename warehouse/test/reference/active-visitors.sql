-- Active visitors and sessions over time, from the per-minute, per-hour or
-- per-day traffic rollup; buckets without activity are filled with zeros so
-- charts show the gaps. traffic_metric, bucket_from and step_s are derived
-- from interval and since by the server.
SELECT
    bucket AS time,
    sum(r.events) AS events,
    sumIf(r.events, r.dim2 = 'page_view') AS page_views,
    uniqMerge(visitors) AS visitors,
    uniqMerge(sessions) AS sessions
FROM activity.rollups AS r
WHERE metric = {traffic_metric:String}
  AND ({site:String} = '' OR site = {site:String})
  AND bucket >= {bucket_from:DateTime('UTC')}
  AND bucket < {until:DateTime64(3, 'UTC')}
GROUP BY time
ORDER BY time ASC
    WITH FILL
    FROM {bucket_from:DateTime('UTC')}
    TO toDateTime({until:DateTime64(3, 'UTC')}, 'UTC')
    STEP {step_s:UInt32}
