/* Table and figure exports. A table's download holds the rows the grid shows now
   (after its filters and sorting) with its column headers; the server writes the
   file (components.py). A served grid (its rows stay on the server) sends only how
   it shows them (columns, sorting, filters): the server finds the rows. A figure's
   SVG button downloads it as Plotly draws it (its toolbar has the PNG one). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  knelpunt: Object.assign({}, (window.dash_clientside || {}).knelpunt, {
    gridRows: async function (clicks) {
      const ctx = window.dash_clientside.callback_context;
      const tapped = ctx.triggered_id;
      if (!tapped || !(clicks || []).some(Boolean)) { return window.dash_clientside.no_update; }
      const api = await dash_ag_grid.getApiAsync(tapped.grid);
      // The columns of the data (not the row-selection column), in their shown order.
      const columns = api.getAllDisplayedColumns().map((c) => c.getColDef()).filter((c) => c.field);
      const rows = [];
      api.forEachNodeAfterFilterAndSort((node) => {
        rows.push(columns.map((c) => (node.data[c.field] === undefined ? null : node.data[c.field])));
      });
      return {
        grid: tapped.grid,
        format: tapped.format,
        headers: columns.map((c) => c.headerName || c.field),
        rows: rows,
        at: Date.now(),
      };
    },
    gridQuery: async function (clicks) {
      const tapped = window.dash_clientside.callback_context.triggered_id;
      if (!tapped || !(clicks || []).some(Boolean)) { return window.dash_clientside.no_update; }
      const api = await dash_ag_grid.getApiAsync(tapped.grid);
      const columns = api.getAllDisplayedColumns().map((c) => c.getColDef()).filter((c) => c.field);
      // The sort model as the grid sends it with a request for rows: first sort first.
      const sortModel = api.getColumnState()
        .filter((s) => s.sort)
        .sort((a, b) => (a.sortIndex || 0) - (b.sortIndex || 0))
        .map((s) => ({ colId: s.colId, sort: s.sort }));
      return {
        grid: tapped.grid,
        format: tapped.format,
        fields: columns.map((c) => c.field),
        headers: columns.map((c) => c.headerName || c.field),
        sortModel: sortModel,
        filterModel: api.getFilterModel() || {},
        at: Date.now(),
      };
    },
    refreshRows: async function (search, id) {
      // A new search: drop the blocks the grid holds, so that it asks for its rows again.
      const api = await dash_ag_grid.getApiAsync(id.grid);
      api.purgeInfiniteCache();
      return search || "";
    },
    figureSvg: function (clicks) {
      const tapped = window.dash_clientside.callback_context.triggered_id;
      const frame = tapped && document.getElementById(tapped.graph);
      const plot = frame && frame.querySelector(".js-plotly-plot");
      if (clicks && plot && window.Plotly) {
        window.Plotly.downloadImage(plot, { format: "svg", filename: tapped.graph });
      }
      return window.dash_clientside.no_update;
    },
  }),
});

