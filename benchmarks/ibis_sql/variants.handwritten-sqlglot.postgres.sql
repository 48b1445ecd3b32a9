WITH per_case AS (
  WITH marked AS (
    SELECT
      *,
      LAG(resource) OVER (PARTITION BY "case" ORDER BY time_us, position) AS previous
    FROM events
  )
  SELECT
    "case",
    COUNT(*) AS events,
    COUNT(DISTINCT activity) AS activities,
    COUNT(DISTINCT resource) FILTER(WHERE
      resource >= 0) AS resources,
    COUNT(*) FILTER(WHERE
      resource >= 0 AND previous >= 0 AND resource <> previous) AS handovers,
    MIN(time_us) AS start_us,
    MAX(time_us) AS end_us,
    MAX(clock_us) - MIN(clock_us) AS clock_us,
    ARRAY_AGG(activity ORDER BY time_us, position) AS trace
  FROM marked
  GROUP BY
    "case"
), per_variant AS (
  SELECT
    trace,
    COUNT(*) AS cases,
    MIN("case") AS first_case,
    AVG(duration_s) AS mean_s,
    PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY
      duration_s) AS median_s,
    MIN(duration_s) AS min_s,
    MAX(duration_s) AS max_s
  FROM (
    SELECT
      "case",
      trace,
      CAST(clock_us AS DOUBLE PRECISION) / 1e6 AS duration_s
    FROM per_case
  )
  GROUP BY
    trace
)
SELECT
  ROW_NUMBER() OVER (ORDER BY cases DESC NULLS LAST, first_case) AS variant,
  *
FROM per_variant
