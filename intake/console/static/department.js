// A department's own cases with green, yellow and red lights and deadlines; start, finish with a
// note and photos, or ask for a return, an extension or parking. The server refuses another
// department's case (403), whatever the page shows.
"use strict";
HL.boot(["department"], async () => {
  const { h, clear, api, time, run, say, STATUS, historyList } = HL;
  const app = document.getElementById("app");
  const LIGHT = { green: "绿灯", yellow: "黄灯", red: "红灯" };
  const list = h("tbody", { "data-testid": "dept-cases" });
  const detail = h("div", { id: "detail" });
  app.append(h("table", {}, h("thead", {}, h("tr", {}, ["时限", "案件", "状态", "分类", "街道", "截止", ""].map((x) => h("th", {}, x)))), list), detail);

  async function loadList() {
    const out = await api("GET", "/api/v1/cases?limit=200");
    clear(list);
    const active = out.items.filter((c) => !["closed", "rejected", "voided"].includes(c.status));
    for (const c of active) {
      let t = {};
      try { t = await api("GET", `/api/v1/cases/${c.id}/timing`); } catch (e) { /* shown without a light */ }
      const cur = t.current || {};
      list.appendChild(h("tr", { "data-case": c.id, class: c.emergency ? "emergency" : null },
        h("td", { "data-testid": "light" }, HL.light(cur.light), LIGHT[cur.light] || "—"),
        h("td", {}, c.number), h("td", {}, STATUS[c.status] || c.status, t.pending_request ? "（待批：" + t.pending_request + "）" : ""),
        h("td", {}, c.code + " " + (c.name || "")), h("td", {}, c.street || "—"), h("td", {}, time(cur.deadline)),
        h("td", {}, h("button", { "data-testid": "open-" + c.id, onclick: () => run(() => open(c.id)) }, "打开"))));
    }
    if (!active.length) list.appendChild(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "没有在办案件")));
  }

  async function open(id) {
    clear(detail);
    let c, t;
    try {
      c = await api("GET", `/api/v1/cases/${id}`);
      t = await api("GET", `/api/v1/cases/${id}/timing`);
    } catch (e) {
      detail.appendChild(h("section", { class: "card", "data-testid": "refused" }, "无法打开案件 " + id + "：" + e.message));
      say("无法打开案件：" + e.message, false);
      return;
    }
    const allowed = t.allowed_actions || [];
    const card = h("section", { class: "card", "data-testid": "case-detail" },
      h("h2", {}, "案件 " + c.number + " · " + (STATUS[c.status] || c.status)),
      h("div", {}, HL.light((t.current || {}).light), "当前环节截止 ", time((t.current || {}).deadline), " · 全案截止 ", time((t.overall || {}).deadline)),
      h("div", {}, c.code + " " + (c.name || ""), " · ", c.street || "", " · 网格 ", c.grid || "—"),
      (c.reports || []).map((r) => h("div", { class: "text" }, r.text)));
    const note = h("textarea", { placeholder: "处置结果说明", "data-testid": "finish-note" });
    const photo = h("input", { type: "file", accept: "image/jpeg,image/png,image/webp", multiple: true, "data-testid": "finish-photo" });
    const reason = h("input", { type: "text", placeholder: "理由", size: 24, "data-testid": "request-reason" });
    const amount = h("input", { type: "text", placeholder: "延期时长，如 2wd", size: 10, value: "2wd" });
    const act = (action, body, ok) => run(async () => {
      await api("POST", `/api/v1/cases/${id}/actions`, Object.assign({ action }, body || {}));
      await open(id); await loadList();
    }, ok);
    const buttons = h("div", { class: "row" });
    if (allowed.includes("start")) buttons.appendChild(h("button", { class: "primary", "data-testid": "start", onclick: () => act("start", {}, "已开始处置") }, "开始处置"));
    card.appendChild(buttons);
    if (allowed.includes("finish")) {
      card.append(h("h2", {}, "处置完成"), note, h("div", { class: "row" }, "照片（JPEG/PNG/WebP，≤5MB）：", photo),
        h("button", { class: "primary", "data-testid": "finish", onclick: () => run(async () => {
          if (!note.value.trim()) throw new Error("请填写处置结果");
          const urls = [];
          for (const f of photo.files) urls.push(await HL.uploadPhoto(id, f, "result"));
          await api("POST", `/api/v1/cases/${id}/actions`, { action: "finish", note: note.value, photos: urls });
          await open(id); await loadList();
        }, "已提交处置结果") }, "提交处置结果"));
    }
    if (allowed.some((a) => a.startsWith("request_"))) {
      card.append(h("h2", {}, "申请"), h("div", { class: "row" }, reason, amount,
        allowed.includes("request_return") ? h("button", { "data-testid": "request-return", onclick: () => act("request_return", { reason: reason.value }, "已申请回退") }, "申请回退") : null,
        allowed.includes("request_extension") ? h("button", { "data-testid": "request-extension", onclick: () => act("request_extension", { reason: reason.value, amount: amount.value }, "已申请延期") }, "申请延期") : null,
        allowed.includes("request_park") ? h("button", { "data-testid": "request-park", onclick: () => act("request_park", { reason: reason.value }, "已申请挂账") }, "申请挂账") : null));
    }
    card.append(h("h2", {}, "历史"), historyList(c.history || []));
    detail.appendChild(card);
  }

  await run(loadList);
  const want = HL.param("case");
  if (want && /^\d+$/.test(want)) await open(want);
});
