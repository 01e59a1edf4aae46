-- Personalized vs default promotions: click-through rate per variant and the
-- lift of each over the default (ctr / default ctr - 1).
WITH totals AS (
    SELECT
        dim2 AS variant,
        sumIf(events, startsWith(metric, 'promo_impression')) AS impressions,
        sumIf(events, startsWith(metric, 'promo_click')) AS clicks
    FROM activity.rollups
    WHERE {{ROLLUP_RANGE:promo_impression,promo_click}}
      AND ({site:String} = '' OR site = {site:String})
    GROUP BY variant
)
SELECT
    variant,
    impressions,
    clicks,
    if(impressions = 0, NULL, clicks / impressions) AS raw_ctr,
    round(raw_ctr, 4) AS ctr,
    (SELECT if(sum(impressions) = 0 OR sum(clicks) = 0, NULL, sum(clicks) / sum(impressions)) FROM totals WHERE variant = 'default') AS raw_default_ctr,
    round(raw_default_ctr, 4) AS default_ctr,
    if(raw_ctr IS NULL OR raw_default_ctr IS NULL, NULL, round(raw_ctr / raw_default_ctr - 1, 4)) AS lift
FROM totals
ORDER BY variant ASC
