// Shared by every console page: the session, the API with its CSRF secret, building the page with
// text nodes only (a citizen's text can never become markup), the header with the role's pages.
"use strict";

const HL = (() => {
  let csrf = null;
  let me = null;

  const ROLE_HOME = {
    operator: "operator.html", shift_chief: "audit.html", auditor: "audit.html", department: "department.html",
    inspector: "inspector.html", dispatcher: "arbitration.html", admin: "operator.html",
  };
  const PAGES = [
    ["operator.html", "受理队列", ["operator", "shift_chief"]],
    ["audit.html", "质检队列", ["shift_chief", "auditor"]],
    ["accuracy.html", "准确率", ["shift_chief", "auditor"]],
    ["hot.html", "热点与多发", ["shift_chief", "auditor", "operator", "dispatcher"]],
    ["arbitration.html", "仲裁", ["shift_chief", "dispatcher"]],
    ["evaluation.html", "考核评价", ["shift_chief", "auditor", "dispatcher"]],
    ["department.html", "本部门案件", ["department"]],
    ["inspector.html", "核查任务", ["inspector"]],
    ["public.html", "公众查询", null],
  ];
  const STATUS = {
    open: "待受理", accepted: "待立案", registered: "待派遣", dispatched: "待处置", handling: "处置中",
    finished: "待核查", verified: "待结案", parked: "挂账", arbitration: "待仲裁", closed: "已结案",
    rejected: "不予受理", voided: "已作废",
  };
  const KINDS = {
    emergency: "紧急", low_confidence: "低置信度", ambiguous_duplicate: "疑似重复", waiting_acceptance: "待受理",
    transcription: "待人工转写",
  };
  const EVENTS = {
    opened: "登记", routed: "路由", emergency: "紧急", accepted: "受理", rejected: "不予受理", registered: "立案",
    voided: "作废", dispatched: "派遣", started: "开始处置", finished: "处置完成", verified: "核查", rework: "返工",
    closed: "结案", arbitration: "进入仲裁", arbitrated: "仲裁", return_requested: "申请回退",
    extension_requested: "申请延期", park_requested: "申请挂账", return_approved: "同意回退",
    extension_approved: "同意延期", parked: "挂账", resumed: "挂账恢复", return_refused: "不同意回退",
    extension_refused: "不同意延期", park_refused: "不同意挂账", code_corrected: "分类更正",
    place_corrected: "地点更正", report_merged: "报告并入", report_moved_out: "报告移出",
    report_split_out: "拆分出新案件", photo_added: "上传照片", review_out_of_scope: "判定非受理范围",
    flagged_hot: "热点", confirmed_by_inspector: "监督员确认", overdue: "超时", escalated: "升级",
    satisfaction: "满意度",
  };
  const ROLES = {
    operator: "受理员", shift_chief: "值班长", dispatcher: "派遣员", department: "专业部门", inspector: "监督员",
    auditor: "质检员", channel: "接入渠道", admin: "管理员", system: "系统",
  };

  // h("div", {class: "x", onclick: fn}, "text", child): text arguments become text nodes, never HTML.
  function h(tag, attrs, ...children) {
    const el = tag.includes(":") ? document.createElementNS("http://www.w3.org/2000/svg", tag.split(":")[1])
      : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "href" || k === "src") el.setAttribute(k, safeUrl(String(v)));
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  // Only same-origin relative links and blob: URLs (a recorded photo preview) are ever put in href/src.
  function safeUrl(u) {
    if (/^(\/|\.\/|[a-z0-9_-]+\.html|blob:|#)/i.test(u) && !/^\/\//.test(u)) return u;
    return "#";
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

  class ApiError extends Error {
    constructor(status, body) { super((body && body.error) || ("HTTP " + status)); this.status = status; this.body = body; }
  }

  async function api(method, path, body, opts) {
    const headers = {};
    let payload;
    if (opts && opts.raw) { payload = body; headers["Content-Type"] = opts.contentType; }
    else if (body !== undefined) { payload = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
    if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
    const r = await fetch(path, { method, headers, body: payload, credentials: "same-origin", cache: "no-store" });
    let data = null;
    const ct = r.headers.get("Content-Type") || "";
    if (ct.includes("json")) data = await r.json();
    if (!r.ok) {
      if (r.status === 401 && !(opts && opts.noRedirect)) toLogin();
      throw new ApiError(r.status, data);
    }
    return data;
  }

  function toLogin() {
    const next = location.pathname.split("/").pop() + location.search;
    location.href = "index.html?next=" + encodeURIComponent(next);
  }

  function say(text, ok) {
    const m = document.getElementById("msg");
    if (!m) return;
    m.className = "msg " + (ok ? "ok" : "error");
    m.textContent = text;
    m.setAttribute("data-testid", ok ? "msg-ok" : "msg-error");
  }

  async function run(fn, okText) {
    try {
      const out = await fn();
      if (okText) say(okText, true);
      return out;
    } catch (e) {
      say("操作未完成：" + (e.message || e), false);
      return undefined;
    }
  }

  // Sign-in check, header with the role's pages, then the page's own start.
  async function boot(roles, start) {
    try {
      me = await api("GET", "/api/v1/session");
    } catch (e) { return; }
    csrf = me.csrf_token || null;
    header();
    if (roles && !roles.includes(me.role) && me.role !== "admin") {
      say("当前角色（" + (ROLES[me.role] || me.role) + "）无权使用此页面", false);
      return;
    }
    await start(me);
  }

  function header() {
    const here = location.pathname.split("/").pop();
    const nav = h("nav", {}, PAGES.filter(([, , roles]) => !roles || roles.includes(me.role) || me.role === "admin")
      .map(([href, label]) => h("a", { href, class: href === here ? "here" : null }, label)));
    const out = h("button", { id: "signout", onclick: signOut }, "退出");
    const who = h("span", { class: "who", "data-testid": "who" }, me.user + "（" + (me.role_label || me.role) + "）",
      me.department_name ? " · " + me.department_name : "");
    document.body.insertBefore(h("header", { class: "top" }, h("span", { class: "brand" }, "城市管理热线 · 工作台"),
      nav, who, out), document.body.firstChild);
  }

  async function signOut() {
    try { await api("DELETE", "/api/v1/session", undefined, { noRedirect: true }); } catch (e) { /* already ended */ }
    location.href = "index.html";
  }

  function time(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
  }
  function pct(x) { return x === null || x === undefined ? "—" : (100 * x).toFixed(1) + "%"; }
  function param(name) { return new URLSearchParams(location.search).get(name); }
  function actor(a) {
    if (!a) return "—";
    const [role, name] = a.includes(":") ? a.split(/:(.*)/s) : [a, ""];
    return (ROLES[role] || role) + (name ? " " + name : "");
  }
  function detailText(d) {
    if (!d) return "";
    const parts = [];
    for (const [k, v] of Object.entries(d)) {
      if (v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length)) continue;
      parts.push(k + "=" + (typeof v === "object" ? JSON.stringify(v) : v));
    }
    return parts.join("；");
  }
  function historyList(events) {
    return h("ul", { class: "history", "data-testid": "history" }, events.map((e) =>
      h("li", {}, h("span", { class: "muted" }, time(e.at)), " ", h("b", {}, EVENTS[e.kind] || e.kind), " · ",
        actor(e.actor), " ", h("span", { class: "muted" }, detailText(e.detail)))));
  }
  function light(l) { return h("span", { class: "light " + (l || "none"), title: l || "" }); }

  // A matter picker: finds a matter by name, code or pinyin initials.
  function matterPicker(matters, onPick, initial) {
    const input = h("input", { type: "text", placeholder: "输入名称、代码或拼音首字母", "data-testid": "picker-input",
      size: 28, autocomplete: "off" });
    const list = h("ul", { "data-testid": "picker-list" });
    let chosen = null;
    function show() {
      const q = input.value.trim().toLowerCase();
      clear(list);
      if (!q) return;
      const hits = matters.filter((m) => m.code.startsWith(q) || m.name.includes(input.value.trim()) ||
        m.initials.startsWith(q)).slice(0, 12);
      for (const m of hits) {
        list.appendChild(h("li", { "data-code": m.code, onclick: () => { chosen = m; input.value = m.code + " " + m.name;
          clear(list); onPick(m); } }, m.code + " " + m.name + "（" + m.initials + "）"));
      }
    }
    input.addEventListener("input", show);
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && list.firstChild) { ev.preventDefault(); list.firstChild.click(); }
    });
    if (initial) input.value = initial;
    const el = h("div", { class: "picker" }, input, list);
    el.value = () => chosen;
    return el;
  }

  let lookups = null;
  async function getLookups() {
    if (!lookups) lookups = await api("GET", "/api/v1/console/lookups");
    return lookups;
  }

  // A small map of the district's unit grids (synthetic lattice): the case's grid in red, its
  // street shaded; clicking a grid chooses it.
  function gridMap(grids, street, grid, onChoose) {
    const W = 420, H = 300;
    let minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
    for (const g of grids) for (const [x, y] of g.polygon) {
      minx = Math.min(minx, x); maxx = Math.max(maxx, x); miny = Math.min(miny, y); maxy = Math.max(maxy, y);
    }
    const sx = (W - 10) / (maxx - minx || 1), sy = (H - 10) / (maxy - miny || 1), s = Math.min(sx, sy);
    const svg = h("svg:svg", { class: "map", width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-testid": "grid-map" });
    let chosenEl = null;
    for (const g of grids) {
      const pts = g.polygon.map(([x, y]) => `${(5 + (x - minx) * s).toFixed(1)},${(H - 5 - (y - miny) * s).toFixed(1)}`).join(" ");
      const cls = g.id === grid ? "here" : (g.street === street ? "street" : "");
      const poly = h("svg:polygon", { points: pts, class: cls, "data-grid": g.id });
      poly.appendChild(h("svg:title", {}, g.id + " " + g.street));
      poly.addEventListener("click", () => {
        if (chosenEl) chosenEl.classList.remove("chosen");
        poly.classList.add("chosen");
        chosenEl = poly;
        onChoose && onChoose(g);
      });
      svg.appendChild(poly);
    }
    return svg;
  }

  // Upload one photo (checked again by the server for type and size); its URL.
  async function uploadPhoto(caseId, file, purpose) {
    const out = await api("POST", `/api/v1/console/cases/${caseId}/photos?purpose=${purpose}`, file,
      { raw: true, contentType: file.type || "application/octet-stream" });
    return out.url;
  }

  // Horizontal bars: rows [{label, value}], value in [0, max].
  function bars(rows, max, fmt) {
    const W = 560, rowH = 22, H = rows.length * rowH + 10, left = 200;
    const svg = h("svg:svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-testid": "bar-chart" });
    rows.forEach((r, i) => {
      const w = max ? Math.max(0, (W - left - 70) * (r.value || 0) / max) : 0;
      svg.appendChild(h("svg:text", { x: left - 6, y: 5 + i * rowH + 15, "text-anchor": "end", "font-size": 12 },
        String(r.label).slice(0, 18)));
      svg.appendChild(h("svg:rect", { x: left, y: 5 + i * rowH + 3, width: w.toFixed(1), height: rowH - 8, class: "bar" }));
      svg.appendChild(h("svg:text", { x: left + w + 4, y: 5 + i * rowH + 15, "font-size": 12 }, fmt ? fmt(r.value) : String(r.value)));
    });
    return svg;
  }

  return { h, clear, api, boot, say, run, time, pct, param, actor, historyList, light, matterPicker, getLookups,
    gridMap, uploadPhoto, bars, STATUS, KINDS, EVENTS, ROLES, ROLE_HOME, ApiError, me: () => me };
})();
