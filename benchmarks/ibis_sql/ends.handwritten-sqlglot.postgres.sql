SELECT
  ARG_MIN(activity, (time_us, position)) AS first,
  ARG_MAX(activity, (time_us, position)) AS last
FROM events
GROUP BY
  "case"
