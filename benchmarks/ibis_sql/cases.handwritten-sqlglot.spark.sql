WITH marked AS (
  SELECT
    *,
    LAG(resource) OVER (PARTITION BY `case` ORDER BY time_us NULLS LAST, position NULLS LAST) AS previous
  FROM events
)
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
