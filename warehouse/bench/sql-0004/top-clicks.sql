-- Most clicked products, promotions and elements (kind: product, promotion, element).
-- Two passes: the top targets by clicks first, reading only the counts; then
-- visitors (uniqMerge, the costly part) for those targets only.
SELECT
    dim1 AS kind,
    dim2 AS target,
    any(label) AS label,
    sum(events) AS clicks,
    uniqMerge(visitors) AS visitors
FROM activity.rollups
WHERE {{ROLLUP_RANGE:click}}
  AND ({site:String} = '' OR site = {site:String})
  AND ({kind:String} = '' OR dim1 = {kind:String})
  AND (dim1, dim2) IN (
      SELECT dim1, dim2 FROM activity.rollups
      WHERE {{ROLLUP_RANGE:click}}
        AND ({site:String} = '' OR site = {site:String})
        AND ({kind:String} = '' OR dim1 = {kind:String})
      GROUP BY dim1, dim2
      ORDER BY sum(events) DESC, dim1 ASC, dim2 ASC
      LIMIT {limit:UInt32}
  )
GROUP BY kind, target
ORDER BY clicks DESC, kind ASC, target ASC
LIMIT {limit:UInt32}
