// Draws the statistics page's charts from the JSON the server embedded (#stats-data). The tables
// beside each chart hold the same numbers, so the page reads fine without script or canvas.
(function () {
  "use strict";
  var node = document.getElementById("stats-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var colours = { none: "#9aa5b1", green: "#2f9e44", yellow: "#f08c00", red: "#c92a2a" };

  function draw(kind, option) {
    var el = document.querySelector('[data-chart="' + kind + '"]');
    if (!el) { return; }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function pie(entries, labels, palette) {
    return {
      tooltip: { trigger: "item" },
      series: [{
        type: "pie", radius: ["40%", "70%"],
        data: entries.map(function (e) {
          var item = { name: labels[e[0]] || e[0], value: e[1] };
          if (palette && palette[e[0]]) { item.itemStyle = { color: palette[e[0]] }; }
          return item;
        })
      }]
    };
  }

  draw("status", pie(Object.entries(data.by_status), data.labels.status));
  draw("colour", pie(Object.entries(data.by_colour), data.labels.colour, colours));
  draw("unit", {
    tooltip: { trigger: "axis" }, legend: {},
    xAxis: { type: "category", data: data.by_unit.map(function (u) { return u.name; }) },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: document.querySelector("#by-unit th:nth-child(3)").textContent, type: "bar",
        data: data.by_unit.map(function (u) { return u.closed; }) },
      { name: document.querySelector("#by-unit th:nth-child(5)").textContent, type: "bar",
        data: data.by_unit.map(function (u) { return u.overdue; }) },
      { name: document.querySelector("#by-unit th:nth-child(2)").textContent, type: "line",
        data: data.by_unit.map(function (u) { return u.total; }) }
    ]
  });
  draw("category", {
    tooltip: { trigger: "axis" },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: data.by_category.map(function (c) { return c.label || c.key; }) },
    series: [{ type: "bar", data: data.by_category.map(function (c) {
      return { value: c.total, itemStyle: { color: c.recurring ? "#c92a2a" : "#1c7ed6" } };
    }) }]
  });
  draw("closures", {
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: data.closures_by_month.map(function (m) { return m.month; }) },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "line", areaStyle: {}, data: data.closures_by_month.map(function (m) { return m.closed; }) }]
  });
}());
