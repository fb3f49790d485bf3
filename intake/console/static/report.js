// One report at the operator's desk: the original text (or the call's recording and live partial
// transcript), the machine's proposal with its top 3 and confidence, the place on a small map of
// the grids, duplicate candidates with their reasons, and every correction. Each action goes to
// the API, which checks the role and records who did it and when.
"use strict";
HL.boot(["operator", "shift_chief", "auditor", "dispatcher"], async (me) => {
  const { h, clear, api, time, pct, run, say, STATUS, historyList } = HL;
  const app = document.getElementById("app");
  const lk = await HL.getLookups();
  const matterName = Object.fromEntries(lk.matters.map((m) => [m.code, m.name]));
  const desk = ["operator", "shift_chief", "admin"].includes(me.role);
  const reviewer = desk || me.role === "auditor";

  const callId = HL.param("call");
  if (callId) { await callPanel(callId); return; }
  const id = HL.param("id");
  if (!id || !/^\d+$/.test(id)) { say("缺少报告编号", false); return; }

  async function load() {
    let v;
    try { v = await api("GET", `/api/v1/console/reports/${id}`); } catch (e) { say("无法打开报告：" + e.message, false); return; }
    render(v);
    const call = await callOf(v.report);
    if (call) app.insertBefore(callCard(call), app.children[1] || null);
  }

  function current(v) {
    // The classification that stands: the newest review, else the machine's.
    const last = v.reviews.length ? v.reviews[v.reviews.length - 1] : null;
    if (last) return { code: last.new, out_of_scope: last.out_of_scope, agency: last.agency };
    const d = v.decision || {};
    return { code: d.code, out_of_scope: d.out_of_scope, agency: d.agency };
  }

  async function review(body) {
    return api("POST", `/api/v1/reports/${id}/review`, body);
  }

  function render(v) {
    clear(app);
    const r = v.report, d = v.decision || {}, c = v.case;
    const now = current(v);
    // -- the original ---------------------------------------------------------------------------
    app.appendChild(h("section", { class: "card" }, h("h2", {}, "原始报告 #" + r.id),
      h("div", { class: "row muted" }, "渠道 ", r.channel, " · 编号 ", r.external_id, " · 收到 ", time(r.received_at),
        " · 来电号码 ", h("span", { "data-testid": "caller" }, r.caller || "—")),
      h("div", { class: "text", "data-testid": "report-text" }, r.text),
      r.address ? h("div", { class: "muted" }, "地址：", r.address) : null));

    // -- proposal and confirm ---------------------------------------------------------------------
    const prop = h("section", { class: "card", "data-testid": "proposal" }, h("h2", {}, "机器建议"));
    prop.appendChild(h("div", { class: "row" },
      d.emergency ? h("span", { class: "badge emergency" }, "紧急") : null,
      d.out_of_scope ? h("b", {}, "非受理范围：" + (d.agency || "")) :
        h("b", { "data-testid": "proposed-code" }, (d.code || "—") + " " + (d.name || "")),
      " 置信度 ", h("b", { "data-testid": "confidence" }, pct(d.confidence)), " · 模型 ", h("span", { class: "muted" }, d.model_version || "")));
    prop.appendChild(h("ol", { class: "candidates" }, (d.candidates || []).map((x) => h("li", {},
      x.code + " " + (x.name || "") + " · " + pct(x.confidence), " ",
      reviewer && x.code !== now.code ? h("button", { "data-testid": "use-" + x.code, onclick: () => correct(x.code) }, "改为此项") : null))));
    prop.appendChild(h("div", { class: "muted" }, (d.classification_reasons || []).join("；")));
    if (v.reviews.length) {
      prop.appendChild(h("h2", {}, "审核记录"));
      prop.appendChild(h("ul", { "data-testid": "reviews" }, v.reviews.map((x) => h("li", {}, time(x.at), " ",
        HL.ROLES[x.role] || x.role, " ", x.reviewer, " ", { confirm: "确认", correct: "更正", override: "改判" }[x.kind] || x.kind, "：",
        x.out_of_scope ? "非受理范围 " + (x.agency || "") : (x.new || "") + " " + (x.new_name || ""),
        x.reason ? "（理由：" + x.reason + "）" : ""))));
    }
    if (reviewer) {
      const confirmBtn = h("button", { class: "primary", id: "confirm", "data-testid": "confirm",
        onclick: () => confirm(v) }, "一键确认（Enter）");
      prop.appendChild(h("div", { class: "row" }, confirmBtn,
        h("span", { class: "muted" }, "确认当前分类" + (c && c.status === "open" ? "并受理案件" : ""))));
      document.onkeydown = (ev) => {
        if (ev.key === "Enter" && document.activeElement === document.body) { ev.preventDefault(); confirmBtn.click(); }
      };
      // Change the code through the picker.
      const reason = h("input", { type: "text", placeholder: "更正理由", "data-testid": "correct-reason", size: 30 });
      let picked = null;
      const picker = HL.matterPicker(lk.matters, (m) => { picked = m; });
      prop.appendChild(h("h2", {}, "更正分类"));
      prop.appendChild(h("div", { class: "row" }, picker, reason,
        h("button", { "data-testid": "correct", onclick: () => picked ? correct(picked.code, reason.value) : say("请先选择事项", false) }, "更正")));
      // Out of scope, with the agency it belongs to.
      const agency = h("select", { "data-testid": "agency" }, lk.agencies.map((a) => h("option", { value: a.id }, a.name)));
      const oosReason = h("input", { type: "text", placeholder: "理由", size: 20, "data-testid": "oos-reason" });
      prop.appendChild(h("div", { class: "row" }, "非受理范围，转：", agency, oosReason,
        h("button", { "data-testid": "out-of-scope", onclick: () => run(async () => {
          await review({ code: null, out_of_scope: true, agency: agency.value, reason: oosReason.value || "不属于城市管理范围" });
          await load();
        }, "已标记为非受理范围") }, "标记非受理范围")));
    }
    app.appendChild(prop);

    // -- place ------------------------------------------------------------------------------------
    const commName = Object.fromEntries(lk.communities.map((x) => [x.code, x.name]));
    const placeCard = h("section", { class: "card", "data-testid": "place" }, h("h2", {}, "地点"),
      h("div", {}, "街道：", h("b", { "data-testid": "street" }, (c && c.street) || d.street || "未识别"),
        " · 社区：", h("b", {}, commName[(c && c.community) || d.community] || "—"),
        " · 网格：", h("b", { "data-testid": "grid" }, (c && c.grid) || d.grid || "—")),
      h("div", { class: "muted" }, (d.location_reasons || []).join("；")));
    let chosenGrid = null;
    const chosenLabel = h("span", { "data-testid": "chosen-grid" }, "");
    placeCard.appendChild(HL.gridMap(lk.grids, (c && c.street) || d.street, (c && c.grid) || d.grid, (g) => {
      chosenGrid = g; chosenLabel.textContent = g.id + "（" + g.street + " " + (commName[g.community] || "") + "）";
    }));
    if (desk && c) {
      const placeReason = h("input", { type: "text", placeholder: "理由", size: 20, "data-testid": "place-reason" });
      const street = h("select", { "data-testid": "street-select" }, h("option", { value: "" }, "（按街道更正）"),
        lk.streets.map((s) => h("option", { value: s.name }, s.name)));
      placeCard.appendChild(h("div", { class: "row" }, "点击地图选择网格：", chosenLabel, " 或 ", street, placeReason,
        h("button", { "data-testid": "change-place", onclick: () => run(async () => {
          const body = chosenGrid ? { grid: chosenGrid.id } : (street.value ? { street: street.value } : null);
          if (!body) throw new Error("请在地图上选择网格或选择街道");
          if (placeReason.value) body.reason = placeReason.value;
          await api("POST", `/api/v1/console/cases/${c.id}/place`, body);
          await load();
        }, "地点已更正") }, "更正地点")));
    }
    app.appendChild(placeCard);

    // -- case, duplicates, merge / split, emergency -------------------------------------------------
    const caseCard = h("section", { class: "card", "data-testid": "case" }, h("h2", {}, "案件与重复"));
    if (c) {
      caseCard.appendChild(h("div", { class: "row" }, "案件 ", h("b", { "data-testid": "case-number" }, c.number), " · ",
        h("span", { "data-testid": "case-status" }, STATUS[c.status] || c.status), " · ", c.code + " " + (c.name || ""),
        " · 报告数 ", String(c.report_count), c.emergency ? h("span", { class: "badge emergency" }, "紧急") : null,
        c.hot ? h("span", { class: "badge" }, "热点") : null));
    } else {
      caseCard.appendChild(h("div", {}, "未立案（", d.outcome || "", "）"));
    }
    caseCard.appendChild(h("div", {}, "重复判断：", h("b", {}, { new: "新问题", merge: "合并", ask: "需人工判断", recurrence: "复发",
      out_of_scope: "非受理范围" }[d.duplicate_outcome] || d.duplicate_outcome || "—"),
    d.duplicate_score !== null && d.duplicate_score !== undefined ? " 相似度 " + pct(d.duplicate_score) : ""));
    caseCard.appendChild(h("ul", { class: "muted" }, (d.duplicate_reasons || []).map((x) => h("li", {}, x))));
    if (v.nearby.length) {
      caseCard.appendChild(h("h2", {}, "附近在办案件（重复候选）"));
      const mergeReason = h("input", { type: "text", placeholder: "合并理由", size: 24, "data-testid": "merge-reason" });
      caseCard.appendChild(h("table", { "data-testid": "nearby" }, h("tr", {}, ["案件", "分类", "状态", "网格", "报告数", "最近报告", ""].map((x) => h("th", {}, x))),
        v.nearby.map((n) => h("tr", {}, h("td", {}, n.number), h("td", {}, n.code + " " + (n.name || "")), h("td", {}, STATUS[n.status] || n.status),
          h("td", {}, n.grid || "—"), h("td", {}, String(n.report_count)), h("td", {}, time(n.last_report_at)),
          h("td", {}, desk && c ? h("button", { "data-testid": "merge-" + n.number, onclick: () => run(async () => {
            await api("POST", `/api/v1/console/reports/${id}/merge`, { case: n.number, reason: mergeReason.value || "同一问题" });
            await load();
          }, "已并入案件 " + n.number) }, "并入此案") : null)))));
      caseCard.appendChild(h("div", { class: "row" }, mergeReason));
    }
    if (desk && c) {
      const splitReason = h("input", { type: "text", placeholder: "拆分理由", size: 24, "data-testid": "split-reason" });
      const emReason = h("input", { type: "text", placeholder: "紧急理由", size: 24, "data-testid": "emergency-reason" });
      caseCard.appendChild(h("div", { class: "row" }, splitReason, h("button", { "data-testid": "split", onclick: () => run(async () => {
        const out = await api("POST", `/api/v1/console/reports/${id}/split`, { reason: splitReason.value || "不是同一问题" });
        await load();
        return out;
      }, "已拆分为新案件") }, "拆分为新案件")));
      if (!c.emergency) {
        caseCard.appendChild(h("div", { class: "row" }, emReason, h("button", { class: "danger", "data-testid": "raise-emergency",
          onclick: () => run(async () => {
            await api("POST", `/api/v1/console/cases/${c.id}/emergency`, { reason: emReason.value || "现场危险" });
            await load();
          }, "已升级为紧急案件") }, "升级为紧急")));
      }
    }
    app.appendChild(caseCard);
    if (v.history.length) app.appendChild(h("section", { class: "card" }, h("h2", {}, "案件历史（谁、何时、做了什么）"), historyList(v.history)));
  }

  async function confirm(v) {
    const now = current(v);
    await run(async () => {
      const body = now.out_of_scope ? { code: null, out_of_scope: true, agency: now.agency } : { code: now.code };
      await review(body);
      if (v.case && v.case.status === "open" && v.case.role_of_report === "origin" && ["operator", "admin"].includes(me.role)) {
        await api("POST", `/api/v1/cases/${v.case.id}/actions`, { action: "accept" });
      }
      await load();
    }, "已确认");
  }

  async function correct(code, reason) {
    await run(async () => {
      await review({ code, reason: reason || "更正为 " + code + " " + (matterName[code] || "") });
      await load();
    }, "分类已更正为 " + code);
  }

  // A phone call: its recording to play in the page and, while the call is on, its partial
  // transcript as the recogniser hears it (GET /api/v1/calls/{id}/events: `partial`, then `final`).
  function callCard(call) {
    const partial = h("div", { class: "text", "data-testid": "partial" }, call.transcript || "");
    const card = h("section", { class: "card", "data-testid": "call" }, h("h2", {}, "来电 #" + call.id + " · " + (call.state || "")),
      h("div", { class: "muted" }, "热线 ", call.hotline || "", " · 开始 ", time(call.started_at), " · 时长 ", String(call.duration_s ?? "—"), " 秒"),
      call.recording && !call.recording.deleted_at ? h("audio", { controls: true, preload: "none", src: `/api/v1/calls/${call.id}/recording`, "data-testid": "recording" })
        : h("div", { class: "muted" }, call.recording ? "录音已按保存期限删除" : "通话中，录音尚未生成"),
      h("h2", {}, call.state === "in_progress" ? "实时转写（通话中）" : "转写"), partial);
    if (call.state === "in_progress" && window.EventSource) {
      const es = new EventSource(`/api/v1/calls/${call.id}/events`);
      // `partial` carries the running text; `final` the stored call, whose transcript (if any)
      // replaces it. A final without one keeps what was heard rather than blanking the line.
      const show = (ev, key) => {
        try { const got = JSON.parse(ev.data)[key]; if (got || key === "text") partial.textContent = got || ""; } catch (e) { /* keep */ }
      };
      es.addEventListener("partial", (ev) => show(ev, "text"));
      es.addEventListener("final", (ev) => { show(ev, "transcript"); es.close(); });
      es.onerror = () => es.close();
    }
    return card;
  }

  async function callPanel(cid) {
    if (!/^\d+$/.test(cid)) { say("电话编号无效", false); return; }
    let call;
    try { call = await api("GET", `/api/v1/calls/${cid}`); } catch (e) { say("无法打开来电：" + e.message, false); return; }
    app.appendChild(callCard(call));
    if (call.report_id) {
      app.appendChild(h("p", {}, h("a", { href: `report.html?id=${call.report_id}` }, "已生成报告 #" + call.report_id)));
      return;
    }
    const transcript = h("textarea", { "data-testid": "transcript", placeholder: "听录音后在此人工转写" }, call.transcript || "");
    app.appendChild(h("section", { class: "card" }, h("h2", {}, "人工转写"), transcript,
      h("div", { class: "row" }, h("button", { class: "primary", "data-testid": "submit-transcript", onclick: () => run(async () => {
        const out = await api("POST", `/api/v1/calls/${cid}/transcript`, { text: transcript.value });
        location.href = `report.html?id=${out.report_id}`;
      }, "转写已提交") }, "提交转写并受理"))));
  }

  async function callOf(r) {
    // The call a phone report came from (its external id is the call's SIP Call-ID), if any.
    if (["sms", "web", "inspector"].includes(r.channel)) return null;
    try {
      const out = await api("GET", "/api/v1/calls?limit=200", undefined, { noRedirect: true });
      const hit = (out.items || []).find((c) => c.report_id === r.id || c.call_id === r.external_id);
      return hit ? await api("GET", `/api/v1/calls/${hit.id}`, undefined, { noRedirect: true }) : null;
    } catch (e) { return null; }
  }

  await load();
});
