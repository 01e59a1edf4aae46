-- Promotion impressions, clicks and click-through rate per promotion and
-- variant (personalized by the engine, default, or unknown when the
-- storefront did not say).
SELECT
    dim1 AS promotion_id,
    dim2 AS variant,
    sumIf(events, startsWith(metric, 'promo_impression')) AS impressions,
    sumIf(events, startsWith(metric, 'promo_click')) AS clicks,
    if(impressions = 0, NULL, round(clicks / impressions, 4)) AS ctr
FROM activity.rollups
WHERE {{ROLLUP_RANGE:promo_impression,promo_click}}
  AND ({site:String} = '' OR site = {site:String})
GROUP BY promotion_id, variant
ORDER BY impressions DESC, clicks DESC, promotion_id ASC, variant ASC
LIMIT {limit:UInt32}
