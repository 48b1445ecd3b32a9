/* The shell's shared context, kept in the browser: the language, the chosen
   sources (sorted, as numbers) and the profile. No round trip to the server, so
   the pages start drawing for a new choice at once. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  knelpunt: Object.assign({}, (window.dash_clientside || {}).knelpunt, {
    remember: function (lang, sources, profile) {
      return {
        lang: lang === "en" ? "en" : "nl",
        sources: (sources || []).map(Number).sort((a, b) => a - b),
        profile: profile,
      };
    },
  }),
});

/* A page drawn again for another choice: the properties that changed, set in place
   (dashboards/redraw.py), so that its figures are updated rather than rebuilt. */
window.dash_clientside.knelpunt.applyChanges = function (found) {
  if (!found || !found.set) {
    return window.dash_clientside.no_update;
  }
  for (const [ident, props] of found.set) {
    window.dash_clientside.set_props(ident, props);
  }
  return found.token;
};
