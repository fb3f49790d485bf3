// The inspector's verification tasks (cases the department finished): the result note and
// photos, then pass, or fail with a note (rework by the same department), with a photo.
"use strict";
HL.boot(["inspector"], async () => {
  const { h, clear, api, time, run, historyList } = HL;
  const app = document.getElementById("app");
  async function load() {
    const out = await api("GET", "/api/v1/cases?status=finished&limit=200");
    clear(app);
    if (!out.items.length) app.appendChild(h("p", { class: "muted", "data-testid": "no-tasks" }, "没有待核查的案件"));
    for (const item of out.items) {
      const c = await api("GET", `/api/v1/cases/${item.id}`);
      const done = (c.history || []).filter((e) => e.kind === "finished").pop();
      const note = h("textarea", { placeholder: "核查说明（不通过时必填）", "data-testid": "verify-note" });
      const photo = h("input", { type: "file", accept: "image/jpeg,image/png,image/webp", "data-testid": "verify-photo" });
      const verify = (result) => run(async () => {
        if (result === "fail" && !note.value.trim()) throw new Error("不通过需要说明原因");
        for (const f of photo.files) await HL.uploadPhoto(c.id, f, "verification");
        const body = { action: "verify", result };
        if (note.value.trim()) body.reason = note.value;
        await api("POST", `/api/v1/cases/${c.id}/actions`, body);
        await load();
      }, result === "pass" ? "核查通过" : "核查不通过，已返工");
      app.appendChild(h("section", { class: "card", "data-case": c.id },
        h("h2", {}, "案件 " + c.number + " · " + c.code + " " + (c.name || "") + " · " + (c.street || "")),
        (c.reports || []).map((r) => h("div", { class: "text" }, r.text)),
        done ? h("div", {}, "处置结果：", h("b", { "data-testid": "result-note" }, done.detail.note || ""), " · ", time(done.at)) : null,
        done ? h("div", {}, (done.detail.photos || []).map((u) => h("img", { class: "photo", src: u, alt: "处置照片" }))) : null,
        note, h("div", { class: "row" }, "现场照片：", photo,
          h("button", { class: "primary", "data-testid": "verify-pass", onclick: () => verify("pass") }, "通过"),
          h("button", { class: "danger", "data-testid": "verify-fail", onclick: () => verify("fail") }, "不通过（返工）")),
        h("details", {}, h("summary", {}, "历史"), historyList(c.history || []))));
    }
  }
  await run(load);
});
