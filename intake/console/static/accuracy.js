// Accuracy of the machine's classification over a chosen period, by matter code, channel,
// operator or model version, from the reviews; with a confusion chart (machine -> final).
"use strict";
HL.boot(["shift_chief", "auditor"], async () => {
  const { h, clear, api, pct, run } = HL;
  const app = document.getElementById("app");
  const day = (d) => d.toISOString().slice(0, 10);
  const to = new Date(Date.now() + 86400000), from = new Date(Date.now() - 30 * 86400000);
  const fromIn = h("input", { type: "date", value: day(from), "data-testid": "from" });
  const toIn = h("input", { type: "date", value: day(to), "data-testid": "to" });
  const by = h("select", { "data-testid": "by" }, [["code", "按最终分类"], ["machine_code", "按机器分类"], ["channel", "按渠道"],
    ["operator", "按受理员"], ["model_version", "按模型版本"]].map(([v, l]) => h("option", { value: v }, l)));
  const out = h("div", {});
  app.append(h("div", { class: "row card" }, "从 ", fromIn, " 到 ", toIn, by, h("button", { class: "primary", onclick: () => run(load) }, "查询")), out);

  function confusion(pairs) {
    // A matrix of the most frequent labels: machine (rows) x final (columns), cell shade by count.
    const labels = [...new Set(pairs.flatMap((p) => [p.machine, p.final]))].slice(0, 12);
    const n = labels.length, cell = 34, left = 90, top = 90;
    const W = left + n * cell + 10, H = top + n * cell + 10;
    const max = Math.max(1, ...pairs.map((p) => p.count));
    const svg = h("svg:svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-testid": "confusion-chart" });
    labels.forEach((l, i) => {
      svg.appendChild(h("svg:text", { x: left - 4, y: top + i * cell + 21, "text-anchor": "end", "font-size": 11 }, l));
      svg.appendChild(h("svg:text", { x: left + i * cell + 17, y: top - 6, "font-size": 11,
        transform: `rotate(-60 ${left + i * cell + 17} ${top - 6})` }, l));
    });
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const hit = pairs.find((p) => p.machine === labels[i] && p.final === labels[j]);
      const v = hit ? hit.count : 0;
      const shade = Math.round(255 - 200 * v / max);
      const rect = h("svg:rect", { x: left + j * cell, y: top + i * cell, width: cell - 2, height: cell - 2,
        fill: v ? `rgb(255,${shade},${shade})` : "#f0f4f8" });
      rect.appendChild(h("svg:title", {}, `机器 ${labels[i]} → 最终 ${labels[j]}：${v}`));
      svg.appendChild(rect);
      if (v) svg.appendChild(h("svg:text", { x: left + j * cell + 16, y: top + i * cell + 21, "text-anchor": "middle", "font-size": 12 }, String(v)));
    }
    svg.appendChild(h("svg:text", { x: 4, y: 14, "font-size": 11 }, "行：机器分类 列：最终分类"));
    return svg;
  }

  async function load() {
    const q = new URLSearchParams({ from: fromIn.value + "T00:00:00", to: toIn.value + "T00:00:00", by: by.value });
    const a = await api("GET", "/api/v1/audit/accuracy?" + q.toString());
    clear(out);
    out.appendChild(h("section", { class: "card" }, h("h2", {}, "总体"),
      h("div", {}, "已复核 ", h("b", { "data-testid": "reviewed" }, String(a.overall.reviewed)), " 条，机器正确 ",
        h("b", { "data-testid": "correct" }, String(a.overall.correct)), " 条，准确率 ",
        h("b", { "data-testid": "accuracy" }, pct(a.overall.accuracy))),
      h("div", { class: "muted" }, "随机抽检（置信度高于阈值）准确率 ", pct(a.confident_sample.accuracy), "（", String(a.confident_sample.reviewed), " 条）")));
    out.appendChild(h("section", { class: "card" }, h("h2", {}, "分组"),
      h("table", { "data-testid": "groups" }, h("tr", {}, ["分组", "名称", "复核数", "正确数", "准确率"].map((x) => h("th", {}, x))),
        a.groups.map((g) => h("tr", {}, h("td", {}, g.key), h("td", {}, g.name || ""), h("td", {}, String(g.reviewed)),
          h("td", {}, String(g.correct)), h("td", {}, pct(g.accuracy))))),
      HL.bars(a.groups.slice(0, 15).map((g) => ({ label: g.key + " " + (g.name || ""), value: g.accuracy || 0 })), 1, pct)));
    out.appendChild(h("section", { class: "card" }, h("h2", {}, "混淆图"),
      a.confusion.length ? confusion(a.confusion) : h("p", { class: "muted" }, "本期没有分错的复核记录"),
      h("table", {}, h("tr", {}, ["机器分类", "最终分类", "次数"].map((x) => h("th", {}, x))),
        a.confusion.map((p) => h("tr", {}, h("td", {}, p.machine), h("td", {}, p.final), h("td", {}, String(p.count)))))));
  }
  await run(load);
});
