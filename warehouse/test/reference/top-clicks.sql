-- Most clicked products, promotions and elements (kind: product, promotion, element).
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
GROUP BY kind, target
ORDER BY clicks DESC, kind ASC, target ASC
LIMIT {limit:UInt32}
