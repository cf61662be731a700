/* The dashboard (驾驶舱): ECharts from the vendored file, data from the page's json_script, and the
   sortable breakdown table. Clicking a part (bar or name) opens that part's dashboard (drill-down). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dash-data").textContent);
  var COLORS = { identified: "#b91c1c", eliminated: "#047857", open: "#f59e0b", alerts: "#6366f1" };
  var FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif';
  var charts = {};
  window.dixianCharts = charts; // for the browser tests and for the curious

  function drillUrl(code) {
    var params = new URLSearchParams(window.location.search);
    params.set("region", code);
    return "?" + params.toString();
  }

  function init(id) {
    var el = document.getElementById(id);
    if (!el || typeof echarts === "undefined") return null;
    var chart = echarts.init(el, null, { renderer: "canvas" });
    charts[id] = chart;
    return chart;
  }

  function empty(chart, text) {
    chart.setOption({
      textStyle: { fontFamily: FONT },
      title: { text: text, left: "center", top: "middle", textStyle: { color: "#9ca3af", fontSize: 13, fontWeight: 400 } },
    });
  }

  // -- month-by-month trend ------------------------------------------------------------------------
  var trend = init("chart-trend");
  if (trend) {
    var t = data.trend;
    var startIndex = Math.max(0, t.months.indexOf(t.period_start));
    var series = [
      { name: "新识别户数", type: "bar", data: t.identified, itemStyle: { color: COLORS.identified }, barMaxWidth: 18,
        markArea: { silent: true, itemStyle: { color: "rgba(185,28,28,0.05)" },
          data: [[{ name: "统计期", xAxis: t.months[startIndex] }, { xAxis: t.months[t.months.length - 1] }]],
          label: { color: "#9ca3af", fontSize: 11, position: "insideTopRight" } } },
      { name: "风险消除户数", type: "bar", data: t.eliminated, itemStyle: { color: COLORS.eliminated }, barMaxWidth: 18 },
    ];
    if (t.alerts) { // the slot for alerts raised / closed (screening app)
      // alerts are counted in 条 on their own axis: a month's alerts can outnumber its households many times
      series.push({ name: "预警发出", type: "line", yAxisIndex: 1, data: t.alerts.raised, itemStyle: { color: COLORS.alerts } });
      series.push({ name: "预警办结", type: "line", yAxisIndex: 1, data: t.alerts.closed, itemStyle: { color: "#a5b4fc" }, lineStyle: { type: "dashed" } });
    }
    trend.setOption({
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 40, right: t.alerts ? 44 : 16, top: 36, bottom: 40 },
      xAxis: { type: "category", data: t.months, axisLabel: { fontSize: 11, rotate: t.months.length > 14 ? 30 : 0 } },
      yAxis: t.alerts
        ? [{ type: "value", minInterval: 1, name: "户" }, { type: "value", minInterval: 1, name: "条", splitLine: { show: false } }]
        : { type: "value", minInterval: 1 },
      series: series,
    });
  }

  // -- category and risk shares --------------------------------------------------------------------
  var cats = init("chart-categories");
  if (cats) {
    var catData = data.categories.filter(function (c) { return c.value > 0; });
    if (!catData.length) empty(cats, "暂无监测对象");
    else cats.setOption({
      textStyle: { fontFamily: FONT },
      color: ["#dc2626", "#f97316", "#a21caf"],
      tooltip: { trigger: "item", formatter: "{b}<br>{c} 户（{d}%）" },
      legend: { bottom: 0, itemWidth: 12, textStyle: { fontSize: 11 },
        formatter: function (name) { var c = catData.filter(function (x) { return x.name === name; })[0]; return name + " " + c.value + "户"; } },
      series: [{ type: "pie", radius: ["32%", "64%"], center: ["50%", "42%"], data: catData,
        label: { position: "inside", formatter: "{d}%", fontSize: 11, color: "#fff" } }],
    });
  }
  var risks = init("chart-risks");
  if (risks) {
    var r = data.risks.slice().sort(function (a, b) { return a.value - b.value; });
    if (!r.length) empty(risks, "统计期内没有新识别户");
    else risks.setOption({
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "item", formatter: "{b}：{c} 户" },
      grid: { left: 96, right: 28, top: 8, bottom: 24 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: r.map(function (x) { return x.name; }), axisLabel: { fontSize: 11 } },
      series: [{ type: "bar", data: r.map(function (x) { return x.value; }), itemStyle: { color: COLORS.identified },
        barMaxWidth: 14, label: { show: true, position: "right", fontSize: 11 } }],
    });
  }

  // -- breakdown by part, with drill-down ----------------------------------------------------------
  var parts = init("chart-parts");
  if (parts) {
    var p = data.parts;
    var names = p.map(function (x) { return x.name; });
    var many = p.length > 60;
    parts.setOption({
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: many ? 84 : 60 },
      dataZoom: many ? [{ type: "slider", bottom: 8, height: 16, startValue: 0, endValue: 29 }] : [],
      xAxis: { type: "category", data: names, triggerEvent: true,
        axisLabel: { interval: 0, rotate: p.length > 10 ? 35 : 0, fontSize: 11, color: data.drill ? "#1d4ed8" : "#374151" } },
      yAxis: { type: "value", name: "户", minInterval: 1 },
      series: [
        { name: data.labels["monitored.open.households"], type: "bar", stack: "m", data: p.map(function (x) { return x.open; }),
          itemStyle: { color: COLORS.open }, barMaxWidth: 36, cursor: data.drill ? "pointer" : "default" },
        { name: data.labels["monitored.eliminated.households"], type: "bar", stack: "m", data: p.map(function (x) { return x.eliminated; }),
          itemStyle: { color: COLORS.eliminated }, barMaxWidth: 36, cursor: data.drill ? "pointer" : "default" },
      ],
    });
    if (data.drill) {
      parts.on("click", function (params) {
        var index = params.componentType === "xAxis" ? names.indexOf(params.value) : params.dataIndex;
        if (index >= 0 && p[index]) window.location.href = drillUrl(p[index].code);
      });
    }
  }

  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });

  // -- sortable table --------------------------------------------------------------------------------
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var numeric = th.dataset.sort === "num";
        var dir = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
        if (!numeric && th.getAttribute("aria-sort") === "none") dir = "ascending";
        heads.forEach(function (h) { if (h.hasAttribute("aria-sort")) h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col].dataset.value, y = b.cells[col].dataset.value;
          var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
          return dir === "ascending" ? c : -c;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
