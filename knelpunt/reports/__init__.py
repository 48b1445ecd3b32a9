"""Reports of analysis results: figures (:mod:`knelpunt.reports.figures`) and the
self-contained HTML report (:mod:`knelpunt.reports.html`)."""
