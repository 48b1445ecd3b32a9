WITH pairs AS (
  SELECT
    `case`,
    activity AS src,
    LEAD(activity) OVER w AS dst,
    LEAD(clock_us) OVER w - clock_us AS duration_us
  FROM events
  WINDOW w AS (PARTITION BY `case` ORDER BY time_us NULLS LAST, position NULLS LAST)
)
SELECT
  src,
  dst,
  COUNT(*) AS count,
  COUNT(DISTINCT `case`) AS cases,
  AVG(duration_us) / 1e6 AS mean_s,
  PERCENTILE_CONT(duration_us, 0.5) / 1e6 AS median_s,
  PERCENTILE_CONT(duration_us, 0.9) / 1e6 AS p90_s,
  MIN(duration_us) / 1e6 AS min_s,
  MAX(duration_us) / 1e6 AS max_s,
  SUM(duration_us) / 1e6 AS total_s
FROM pairs
WHERE
  NOT dst IS NULL
GROUP BY
  src,
  dst
