WITH pairs AS (
  SELECT
    "case",
    activity AS src,
    LEAD(activity) OVER w AS dst,
    LEAD(clock_us) OVER w - clock_us AS duration_us
  FROM events
  WINDOW w AS (PARTITION BY "case" ORDER BY time_us, position)
)
SELECT
  src,
  dst,
  COUNT(*) AS count,
  COUNT(DISTINCT "case") AS cases,
  CAST(AVG(duration_us) AS DOUBLE PRECISION) / 1e6 AS mean_s,
  CAST(PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY
    duration_us) AS DOUBLE PRECISION) / 1e6 AS median_s,
  CAST(PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY
    duration_us) AS DOUBLE PRECISION) / 1e6 AS p90_s,
  CAST(MIN(duration_us) AS DOUBLE PRECISION) / 1e6 AS min_s,
  CAST(MAX(duration_us) AS DOUBLE PRECISION) / 1e6 AS max_s,
  CAST(SUM(duration_us) AS DOUBLE PRECISION) / 1e6 AS total_s
FROM pairs
WHERE
  NOT dst IS NULL
GROUP BY
  src,
  dst
