SELECT
  MIN_BY(activity, (time_us, position)) AS first,
  MAX_BY(activity, (time_us, position)) AS last
FROM events
GROUP BY
  `case`
