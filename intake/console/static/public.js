// The citizens' page: a case's status and result by its number; no sign-in, no personal data.
"use strict";
(() => {
  const { h, clear, api, time, STATUS } = HL;
  const app = document.getElementById("app");
  const input = h("input", { type: "text", inputmode: "numeric", placeholder: "案件编号", "data-testid": "number", size: 16 });
  const out = h("div", { "data-testid": "public-result" });
  async function look() {
    clear(out);
    const n = input.value.trim();
    if (!/^\d{1,20}$/.test(n)) { out.appendChild(h("p", {}, "案件编号只含数字")); return; }
    try {
      const c = await api("GET", `/api/v1/public/cases/${n}`, undefined, { noRedirect: true });
      out.appendChild(h("section", { class: "card" }, h("h2", {}, "案件 " + c.number),
        h("div", {}, "状态：", h("b", { "data-testid": "public-status" }, STATUS[c.status] || c.status)),
        h("div", {}, "问题：", c.matter || "—", " · 街道：", c.street || "—"),
        h("div", {}, "受理时间：", time(c.opened_at), c.closed_at ? " · 办结时间：" + time(c.closed_at) : ""),
        c.result ? h("div", {}, "处理结果：", h("span", { "data-testid": "public-note" }, c.result)) : null));
    } catch (e) {
      out.appendChild(h("p", {}, e.status === 404 ? "没有找到该编号的案件" : "查询失败：" + e.message));
    }
  }
  app.append(h("div", { class: "row card" }, input, h("button", { class: "primary", "data-testid": "lookup", onclick: look }, "查询")), out);
  input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") look(); });
  const pre = new URLSearchParams(location.search).get("number");
  if (pre) { input.value = pre; look(); }
})();
