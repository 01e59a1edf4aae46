-- Active visitors and sessions over time; buckets without activity are
-- filled with zeros so charts show the gaps. Event counts come from the
-- per-type traffic rows, visitors and sessions from the visits rows, which
-- hold one state per bucket over every event type (0004; uniqCombined since
-- 0007): each part reads only the columns it needs. traffic_metric, visits_metric,
-- bucket_from and step_s are derived from interval and since by the server.
SELECT
    time,
    sum(t.n_events) AS events,
    sum(t.n_page_views) AS page_views,
    sum(t.n_visitors) AS visitors,
    sum(t.n_sessions) AS sessions
FROM (
    SELECT bucket AS time, sum(events) AS n_events, sumIf(events, dim2 = 'page_view') AS n_page_views, 0 AS n_visitors, 0 AS n_sessions
    FROM activity.rollups
    WHERE metric = {traffic_metric:String}
      AND ({site:String} = '' OR site = {site:String})
      AND bucket >= {bucket_from:DateTime('UTC')}
      AND bucket < {until:DateTime64(3, 'UTC')}
    GROUP BY time
    UNION ALL
    SELECT bucket AS time, 0 AS n_events, 0 AS n_page_views, uniqCombinedMerge(visitors_combined) AS n_visitors, uniqCombinedMerge(sessions_combined) AS n_sessions
    FROM activity.rollups
    WHERE metric = {visits_metric:String}
      AND ({site:String} = '' OR site = {site:String})
      AND bucket >= {bucket_from:DateTime('UTC')}
      AND bucket < {until:DateTime64(3, 'UTC')}
    GROUP BY time
) AS t
GROUP BY time
ORDER BY time ASC
    WITH FILL
    FROM {bucket_from:DateTime('UTC')}
    TO toDateTime({until:DateTime64(3, 'UTC')}, 'UTC')
    STEP {step_s:UInt32}
