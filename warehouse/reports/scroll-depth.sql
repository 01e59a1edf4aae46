-- Scroll depth distribution per page: scroll events and visitors per depth
-- bucket (0, 25, 50, 75, 100 %), for the pages with the most scrolling.
SELECT
    dim1 AS page,
    toUInt8(dim2) AS depth_pct,
    sum(events) AS scrolls,
    uniqMerge(visitors) AS visitors
FROM activity.rollups
WHERE {{ROLLUP_RANGE:scroll}}
  AND ({site:String} = '' OR site = {site:String})
  AND ({page:String} = '' OR dim1 = {page:String})
  AND dim1 IN (
      SELECT dim1 FROM activity.rollups
      WHERE {{ROLLUP_RANGE:scroll}}
        AND ({site:String} = '' OR site = {site:String})
        AND ({page:String} = '' OR dim1 = {page:String})
      GROUP BY dim1
      ORDER BY sum(events) DESC, dim1 ASC
      LIMIT {limit:UInt32}
  )
GROUP BY page, depth_pct
ORDER BY page ASC, depth_pct ASC
