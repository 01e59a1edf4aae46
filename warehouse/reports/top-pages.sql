-- Most viewed pages with distinct visitors.
SELECT
    dim1 AS page,
    sum(events) AS page_views,
    uniqMerge(visitors) AS visitors
FROM activity.rollups
WHERE {{ROLLUP_RANGE:page_view}}
  AND ({site:String} = '' OR site = {site:String})
  AND ({page:String} = '' OR dim1 = {page:String})
GROUP BY page
ORDER BY page_views DESC, page ASC
LIMIT {limit:UInt32}
