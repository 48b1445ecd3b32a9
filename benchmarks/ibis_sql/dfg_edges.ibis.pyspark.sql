SELECT
  `t2`.`src`,
  `t2`.`dst`,
  COUNT(*) AS `count`,
  COUNT(DISTINCT `t2`.`case`) AS `cases`,
  AVG(`t2`.`duration_us`) / 1000000.0 AS `mean_s`,
  PERCENTILE(`t2`.`duration_us`, 0.5) / 1000000.0 AS `median_s`,
  PERCENTILE(`t2`.`duration_us`, 0.9) / 1000000.0 AS `p90_s`,
  MIN(`t2`.`duration_us`) / 1000000.0 AS `min_s`,
  MAX(`t2`.`duration_us`) / 1000000.0 AS `max_s`,
  SUM(`t2`.`duration_us`) / 1000000.0 AS `total_s`
FROM (
  SELECT
    *
  FROM (
    SELECT
      `t0`.`case`,
      `t0`.`activity` AS `src`,
      LEAD(`t0`.`activity`) OVER (
        PARTITION BY `t0`.`case`
        ORDER BY `t0`.`time_us` ASC NULLS LAST, `t0`.`position` ASC NULLS LAST
      ) AS `dst`,
      LEAD(`t0`.`clock_us`) OVER (
        PARTITION BY `t0`.`case`
        ORDER BY `t0`.`time_us` ASC NULLS LAST, `t0`.`position` ASC NULLS LAST
      ) - `t0`.`clock_us` AS `duration_us`
    FROM `events` AS `t0`
  ) AS `t1`
  WHERE
    `t1`.`dst` IS NOT NULL
) AS `t2`
GROUP BY
  1,
  2
