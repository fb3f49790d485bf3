// Bounced cases waiting for the shift chief, each with its whole history; arbitrate = assign a
// department for good (it may no longer return the case). Below: verified cases to close (结案).
"use strict";
HL.boot(["shift_chief", "dispatcher"], async (me) => {
  const { h, clear, api, run, historyList } = HL;
  const app = document.getElementById("app");
  const lk = await HL.getLookups();
  async function load() {
    const out = await api("GET", "/api/v1/arbitration");
    clear(app);
    if (!out.items.length) app.appendChild(h("p", { class: "muted", "data-testid": "arbitration-empty" }, "没有待仲裁的案件"));
    for (const it of out.items) {
      const dept = h("select", {}, lk.departments.map((d) => h("option", { value: d.id, selected: d.id === (it.proposal || {}).primary }, d.name)));
      const reason = h("input", { type: "text", placeholder: "仲裁理由", size: 30 });
      app.appendChild(h("section", { class: "card", "data-case": it.id }, h("h2", {}, "案件 " + it.number + " · " + it.code + " · " + (it.street || "")),
        h("div", {}, "进入仲裁原因：", it.reason || "—"), HL.light(it.timing && it.timing.light), historyList(it.history),
        me.role === "shift_chief" || me.role === "admin" ? h("div", { class: "row" }, "指定处置部门：", dept, reason,
          h("button", { class: "primary", onclick: () => run(async () => {
            await api("POST", `/api/v1/cases/${it.id}/actions`, { action: "arbitrate", department: dept.value, reason: reason.value || "仲裁指定" });
            await load();
          }, "已仲裁") }, "仲裁")) : null));
    }
  }
  async function loadVerified() {
    if (!["shift_chief", "admin"].includes(me.role)) return;
    const out = await api("GET", "/api/v1/cases?status=verified&limit=200");
    const card = h("section", { class: "card", "data-testid": "to-close" }, h("h2", {}, "待结案（核查已通过）"));
    if (!out.items.length) card.appendChild(h("p", { class: "muted" }, "没有待结案的案件"));
    for (const c of out.items) {
      card.appendChild(h("div", { class: "row", "data-case": c.id }, c.number + " · " + c.code + " " + (c.name || "") + " · " + (c.street || ""),
        h("button", { class: "primary", "data-testid": "close-" + c.id, onclick: () => run(async () => {
          await api("POST", `/api/v1/cases/${c.id}/actions`, { action: "close" });
          await load(); await loadVerified();
        }, "已结案") }, "结案")));
    }
    app.appendChild(card);
  }
  await run(async () => { await load(); await loadVerified(); });
});
