// The audit queue (sampled plus low-confidence decisions nobody reviewed yet): confirm, or
// override with a reason; each review is appended to the report's trail with who and when.
"use strict";
HL.boot(["shift_chief", "auditor"], async () => {
  const { h, clear, api, time, pct, run } = HL;
  const app = document.getElementById("app");
  const lk = await HL.getLookups();
  const list = h("div", { "data-testid": "audit-queue" });
  const summary = h("p", { class: "muted" });
  app.append(summary, list);
  const WHY = { below_threshold: "低置信度", flagged_at_intake: "受理时标记", audit_sample: "随机抽检" };

  async function load() {
    const out = await api("GET", "/api/v1/audit/queue?limit=100");
    summary.textContent = `待质检 ${out.total} 条 · 复核阈值 ${pct(out.review_threshold)} · 抽检率 ${pct(out.audit_sample_rate)}`;
    clear(list);
    for (const it of out.items) {
      let picked = null;
      const reason = h("input", { type: "text", placeholder: "改判理由（必填）", size: 28, "data-testid": "override-reason" });
      const picker = HL.matterPicker(lk.matters, (m) => { picked = m; });
      const p = it.proposed || {};
      list.appendChild(h("section", { class: "card", "data-report": it.report_id },
        h("div", { class: "row" }, it.queued_because.map((w) => h("span", { class: "badge low_confidence" }, WHY[w] || w)),
          h("span", { class: "muted" }, "报告 #" + it.report_id + " · " + it.channel + " · " + time(it.received_at) +
            (it.case ? " · 案件 " + it.case.number : "")), h("a", { href: `report.html?id=${it.report_id}` }, "详情")),
        h("div", { class: "text" }, it.text),
        h("div", {}, "机器分类：", h("b", {}, p.out_of_scope ? "非受理范围" : (p.code || "—") + " " + (p.name || "")),
          " 置信度 ", pct(it.confidence), " · 模型 ", it.model_version),
        h("div", { class: "muted" }, "前三：", it.candidates.map((c) => `${c.code} ${c.name || ""} ${pct(c.confidence)}`).join("；")),
        h("div", { class: "row" },
          h("button", { "data-testid": "audit-confirm", onclick: () => run(async () => {
            await api("POST", `/api/v1/reports/${it.report_id}/review`, p.out_of_scope ? { code: null, out_of_scope: true } : { code: p.code });
            await load();
          }, "已确认") }, "确认"),
          picker, reason,
          h("button", { class: "primary", "data-testid": "override", onclick: () => run(async () => {
            if (!picked) throw new Error("请先选择改判的事项");
            if (!reason.value.trim()) throw new Error("改判需要理由");
            await api("POST", `/api/v1/reports/${it.report_id}/review`, { code: picked.code, reason: reason.value });
            await load();
          }, "已改判") }, "改判"))));
    }
  }
  await run(load);
});
