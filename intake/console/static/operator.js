// The operator's live queue: what needs a person, emergencies first, refreshed by polling at the
// interval the server asks for (no reload). Calls waiting for manual transcription are added when
// the phone-call API is present.
"use strict";
HL.boot(["operator", "shift_chief"], async () => {
  const { h, clear, api, time, pct, KINDS, STATUS } = HL;
  const app = document.getElementById("app");
  const stamp = h("p", { class: "muted", "data-testid": "queue-updated" });
  const body = h("tbody", { "data-testid": "queue" });
  app.append(stamp, h("table", {}, h("thead", {}, h("tr", {}, ["类型", "收到时间", "渠道", "内容", "建议分类", "置信度", "案件", ""].map((x) => h("th", {}, x)))), body));
  let timer = null;

  async function calls() {
    // Calls the recogniser could not transcribe well enough wait for a person (GET /api/v1/calls?waiting=true).
    try {
      const out = await api("GET", "/api/v1/calls?waiting=true&limit=100", undefined, { noRedirect: true });
      return (out.items || []).map((c) => ({ call: c, kinds: ["transcription"] }));
    } catch (e) { return []; }
  }

  async function refresh() {
    let out;
    try { out = await api("GET", "/api/v1/console/queue"); } catch (e) { HL.say("队列刷新失败：" + e.message, false); return; }
    const rows = out.items.concat(await calls());
    rows.sort((a, b) => (b.kinds.includes("emergency") ? 1 : 0) - (a.kinds.includes("emergency") ? 1 : 0));
    clear(body);
    for (const it of rows) {
      if (it.call) {
        const c = it.call;
        body.appendChild(h("tr", { "data-call": c.id }, h("td", {}, h("span", { class: "badge transcription" }, KINDS.transcription)),
          h("td", {}, time(c.started_at || c.received_at)), h("td", {}, "电话"), h("td", {}, c.transcript || "（无自动转写）"),
          h("td", {}, "—"), h("td", {}, "—"), h("td", {}, "—"), h("td", {}, h("a", { href: `report.html?call=${c.id}` }, "处理"))));
        continue;
      }
      const tr = h("tr", { class: it.kinds.includes("emergency") ? "emergency" : null, "data-report": it.report_id },
        h("td", {}, it.kinds.map((k) => h("span", { class: "badge " + k }, KINDS[k] || k))),
        h("td", {}, time(it.received_at)), h("td", {}, it.channel),
        h("td", { class: "qtext" }, it.text),
        h("td", {}, it.out_of_scope ? "非受理范围" : (it.code ? it.code + " " + (it.name || "") : "—")),
        h("td", {}, pct(it.confidence)),
        h("td", {}, it.case ? it.case.number + " " + (STATUS[it.case.status] || it.case.status) : "—"),
        h("td", {}, h("a", { href: `report.html?id=${it.report_id}`, "data-testid": "open-report" }, "处理")));
      body.appendChild(tr);
    }
    stamp.textContent = `共 ${rows.length} 条待处理 · 更新于 ${time(out.at)} · 每 ${Math.round(out.poll_ms / 1000)} 秒自动刷新`;
    clearTimeout(timer);
    timer = setTimeout(refresh, out.poll_ms || 3000);
  }
  await refresh();
});
