// The evaluation formulas per role, department and street for a period: tables, bar charts of
// the composite values, and the same tables as an XLSX download.
"use strict";
HL.boot(["shift_chief", "auditor", "dispatcher"], async () => {
  const { h, clear, api, run } = HL;
  const app = document.getElementById("app");
  const TITLES = { shift_chiefs: "值班长", dispatchers: "派遣员", departments: "专业部门", inspectors: "监督员", streets: "街道",
    centre: "中心", satisfaction: "满意度" };
  const day = (d) => d.toISOString().slice(0, 10);
  const fromIn = h("input", { type: "date", value: day(new Date(Date.now() - 30 * 86400000)), "data-testid": "from" });
  const toIn = h("input", { type: "date", value: day(new Date(Date.now() + 86400000)), "data-testid": "to" });
  const link = h("a", { "data-testid": "xlsx", href: "#" }, "下载 XLSX");
  const out = h("div", {});
  app.append(h("div", { class: "row card" }, "从 ", fromIn, " 到 ", toIn, h("button", { class: "primary", onclick: () => run(load) }, "查询"), link), out);
  const fmt = (k, v) => v === null || v === undefined ? "—" : (k.endsWith("率") && typeof v === "number" ? (100 * v).toFixed(1) + "%" :
    (typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : String(v)));
  async function load() {
    const q = new URLSearchParams({ from: fromIn.value, to: toIn.value });
    link.setAttribute("href", "/console/files/evaluation.xlsx?" + q.toString());
    const ev = await api("GET", "/api/v1/evaluation?" + q.toString());
    clear(out);
    out.appendChild(h("p", { class: "muted" }, "本期有活动的案件：" + ev.cases));
    for (const [key, title] of Object.entries(TITLES)) {
      let rows = ev[key];
      if (rows && !Array.isArray(rows)) rows = key === "satisfaction" ? Object.entries(rows).map(([a, n]) => ({ answer: a, count: n })) : [rows];
      if (!rows) continue;
      const cols = rows.length ? Object.keys(rows[0]) : [];
      const card = h("section", { class: "card", "data-table": key }, h("h2", {}, title));
      card.appendChild(rows.length ? h("table", {}, h("tr", {}, cols.map((c) => h("th", {}, c))),
        rows.map((r) => h("tr", {}, cols.map((c) => h("td", {}, fmt(c, r[c])))))) : h("p", { class: "muted" }, "本期无数据"));
      if (rows.length && cols.includes("综合指标值")) {
        card.appendChild(HL.bars(rows.map((r) => ({ label: r.name || "", value: r["综合指标值"] || 0 })),
          Math.max(1, ...rows.map((r) => r["综合指标值"] || 0)), (v) => (v || 0).toFixed(1)));
      }
      out.appendChild(card);
    }
  }
  await run(load);
});
