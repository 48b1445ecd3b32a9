SELECT
  "t2"."src",
  "t2"."dst",
  COUNT(*) AS "count",
  COUNT(DISTINCT "t2"."case") AS "cases",
  CAST(AVG("t2"."duration_us") AS DOUBLE PRECISION) / 1000000.0 AS "mean_s",
  CAST(PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY
    "t2"."duration_us") AS DOUBLE PRECISION) / 1000000.0 AS "median_s",
  CAST(PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY
    "t2"."duration_us") AS DOUBLE PRECISION) / 1000000.0 AS "p90_s",
  CAST(MIN("t2"."duration_us") AS DOUBLE PRECISION) / 1000000.0 AS "min_s",
  CAST(MAX("t2"."duration_us") AS DOUBLE PRECISION) / 1000000.0 AS "max_s",
  CAST(SUM("t2"."duration_us") AS DOUBLE PRECISION) / 1000000.0 AS "total_s"
FROM (
  SELECT
    *
  FROM (
    SELECT
      "t0"."case",
      "t0"."activity" AS "src",
      LEAD("t0"."activity") OVER (
        PARTITION BY "t0"."case"
        ORDER BY "t0"."time_us" ASC, "t0"."position" ASC
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "dst",
      LEAD("t0"."clock_us") OVER (
        PARTITION BY "t0"."case"
        ORDER BY "t0"."time_us" ASC, "t0"."position" ASC
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) - "t0"."clock_us" AS "duration_us"
    FROM "events" AS "t0"
  ) AS "t1"
  WHERE
    "t1"."dst" IS NOT NULL
) AS "t2"
GROUP BY
  1,
  2
