-- Most searched keywords (normalized for case and whitespace), each distinct
-- search event counted once, with distinct visitors. Daily rollup rows for
-- whole days, hourly ones at the edges: since is widened to its hour.
SELECT
    dim1 AS keyword,
    sum(events) AS searches,
    uniqMerge(visitors) AS visitors
FROM activity.rollups
WHERE {{ROLLUP_RANGE:search}}
  AND ({site:String} = '' OR site = {site:String})
  AND ({keyword:String} = '' OR positionUTF8(dim1, lowerUTF8(trimBoth(replaceRegexpAll({keyword:String}, '\\s+', ' ')))) > 0)
GROUP BY keyword
ORDER BY searches DESC, keyword ASC
LIMIT {limit:UInt32}
