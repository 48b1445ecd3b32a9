WITH marked AS (
  SELECT
    *,
    LAG(resource) OVER (PARTITION BY `case` ORDER BY time_us NULLS LAST, position NULLS LAST) AS previous
  FROM events
), per_case AS (
  SELECT
    `case`,
    COUNT(*) AS events,
    COUNT(DISTINCT activity) AS activities,
    COUNT(DISTINCT resource) FILTER(WHERE
      resource >= 0) AS resources,
    COUNT(*) FILTER(WHERE
      resource >= 0 AND previous >= 0 AND resource <> previous) AS handovers,
    MIN(time_us) AS start_us,
    MAX(time_us) AS end_us,
    MAX(clock_us) - MIN(clock_us) AS clock_us,
    COLLECT_LIST(activity) AS trace
  FROM marked
  GROUP BY
    `case`
), per_variant AS (
  SELECT
    trace,
    COUNT(*) AS cases,
    MIN(`case`) AS first_case,
    AVG(duration_s) AS mean_s,
    MEDIAN(duration_s) AS median_s,
    MIN(duration_s) AS min_s,
    MAX(duration_s) AS max_s
  FROM (
    SELECT
      `case`,
      trace,
      clock_us / 1e6 AS duration_s
    FROM per_case
  )
  GROUP BY
    trace
)
SELECT
  ROW_NUMBER() OVER (ORDER BY cases DESC, first_case NULLS LAST) AS variant,
  *
FROM per_variant
