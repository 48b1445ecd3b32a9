/* The capture page's client: one tap, one event, posted to the capture API with the
   session's token. Every tap gets its own idempotency key, and a failed or unanswered
   post is sent again with the same key, so a retry never doubles an event. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  knelpunt: Object.assign({}, (window.dash_clientside || {}).knelpunt, {
    capture: async function (clicks, session, caseId, resource, otherName) {
      const noUpdate = window.dash_clientside.no_update;
      const ctx = window.dash_clientside.callback_context;
      const tapped = ctx.triggered_id;
      if (!tapped || !(clicks || []).some(Boolean)) { return noUpdate; }
      if (!session || !session.token) {
        return { ok: false, problem: "session" };
      }
      const activity = (tapped.activity || otherName || "").trim();
      const caseText = String(caseId || "").trim();
      if (!activity || !caseText) {
        return { ok: false, problem: !caseText ? "case" : "activity" };
      }
      // Random bytes work on plain http (a tablet on the local network), unlike randomUUID.
      const bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      const key = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      const event = {
        case_id: caseText,
        activity: activity,
        timestamp: new Date().toISOString(),
        lifecycle: "complete",
        idempotency_key: key,
      };
      if (resource && String(resource).trim()) { event.resource = String(resource).trim(); }
      const url = "/api/capture/sessions/" + session.source_id + "/events";
      let lastError = "";
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          const answer = await fetch(url, {
            method: "POST",
            headers: {
              "Content-Type": "application/json",
              "Authorization": "Bearer " + session.token,
            },
            body: JSON.stringify(event),
          });
          const body = await answer.json();
          if (answer.ok) {
            return { ok: true, added: body.added, activity: activity, case: caseText, key: key };
          }
          lastError = body.error || String(answer.status);
          if (answer.status !== 503) { break; }
        } catch (error) {
          lastError = String(error);
        }
        await new Promise((resolve) => setTimeout(resolve, 300 * 2 ** attempt));
      }
      return { ok: false, error: lastError };
    },
  }),
});
