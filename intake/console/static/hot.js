// Hot issues (many reports in a short time) and recurring places (grid + matter with several cases).
"use strict";
HL.boot(["shift_chief", "auditor", "operator", "dispatcher"], async () => {
  const { h, api, time, run } = HL;
  const app = document.getElementById("app");
  await run(async () => {
    const hot = await api("GET", "/api/v1/hot-issues");
    const rec = await api("GET", "/api/v1/recurring-places");
    const cols = (row) => Object.keys(row || {});
    const table = (items, testid) => {
      if (!items.length) return h("p", { class: "muted" }, "无");
      const keys = cols(items[0]).filter((k) => typeof items[0][k] !== "object" || items[0][k] === null);
      return h("table", { "data-testid": testid }, h("tr", {}, keys.map((k) => h("th", {}, k))),
        items.map((it) => h("tr", {}, keys.map((k) => h("td", {}, /_at$/.test(k) ? time(it[k]) : String(it[k] ?? "—"))))));
    };
    app.append(h("section", { class: "card" }, h("h2", {}, "热点问题（" + hot.rule + "）"), table(hot.items, "hot-issues")),
      h("section", { class: "card" }, h("h2", {}, "多发地点（至少 " + rec.min_cases + " 件）"), table(rec.items, "recurring")));
  });
});
