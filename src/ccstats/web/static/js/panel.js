// A panel: a titled box whose body comes from the API. While it loads, the old body stays, marked
// stale; an error is shown in the panel, above the last good body (still marked stale), so a
// failed refresh never passes old numbers off as current.

import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { app } from "./state.js";

const live = new Set();

/** The panels of the view on screen (refreshed together). */
export function livePanels() {
  return [...live];
}

/** Forget the panels of the previous view. */
export function dropPanels() {
  for (const panel of live) panel.disposers.forEach((dispose) => dispose());
  live.clear();
}

/** Note an answer's `data_as_of` (the newest record of the tenant) and the time it was fetched. */
export function noteAnswer(answer) {
  if (answer && answer.data_as_of) {
    const asOf = Date.parse(answer.data_as_of);
    if (!app.dataAsOf || asOf > app.dataAsOf) app.dataAsOf = asOf;
  }
  app.fetchedAt = Date.now();
  document.dispatchEvent(new CustomEvent("ccstats:fetched"));
}

/**
 * A panel titled `title` whose body `render()` builds (async, may throw an ApiError).
 * Returns {el, load, actions, disposers}; `load()` runs `render` again (refresh).
 */
export function panel(title, render, { id, className } = {}) {
  const actions = h("div", { class: "panel-actions" });
  const status = h("div", { class: "panel-status", role: "status" });
  const body = h("div", { class: "panel-body" });
  const el = h(
    "section",
    { class: ["panel", className], id, "data-state": "loading" },
    h("header", { class: "panel-head" }, h("h2", { text: title }), actions),
    status,
    body,
  );
  let generation = 0;
  const self = { el, body, actions, disposers: [], load };

  async function load() {
    const mine = ++generation;
    el.dataset.state = "loading";
    body.classList.add("stale");
    body.setAttribute("aria-busy", "true");
    replace(status, h("span", { class: "muted", text: t("loading") }));
    try {
      const content = await render(self);
      if (mine !== generation) return;
      self.disposers.splice(0).forEach((dispose) => dispose());
      replace(body, content);
      body.classList.remove("stale");
      replace(status);
      el.dataset.state = "ready";
      if (content && content.afterMount) content.afterMount();
    } catch (error) {
      if (mine !== generation) return;
      el.dataset.state = "error";
      const hasOld = body.childNodes.length > 0;
      replace(
        status,
        h(
          "div",
          { class: "error", role: "alert" },
          h("strong", { text: t("error") + ": " }),
          error.message || String(error),
          hasOld ? h("span", { class: "stale-note", text: " " + t("stale_shown") }) : null,
        ),
      );
      body.setAttribute("aria-busy", "false");
      if (error.status === 401) document.dispatchEvent(new CustomEvent("ccstats:signed-out"));
      return;
    }
    body.setAttribute("aria-busy", "false");
  }

  live.add(self);
  return self;
}
