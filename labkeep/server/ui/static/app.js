/* labkeep web UI: small islands on top of server-rendered pages. No framework, no build step.
   Everything user-provided is inserted with textContent (or comes as server-escaped HTML). */
(function () {
  "use strict";
  var P = document.body.getAttribute("data-prefix") || "";
  var COLORS = ["#2463eb", "#e4572e", "#17a398", "#f3a712", "#8e44ad", "#2e4057", "#c0392b", "#16a085", "#d35400", "#7f8c8d"];

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }
  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.message || ("HTTP " + r.status));
        return body;
      });
    });
  }
  function qs(params) {
    return Object.keys(params).map(function (k) {
      var v = params[k];
      return [].concat(v).map(function (x) { return encodeURIComponent(k) + "=" + encodeURIComponent(x); }).join("&");
    }).join("&");
  }

  // ------------------------------------------------------------ times in the viewer's time zone
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var zoneName = (function () {
    try {
      var part = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(new Date()).filter(function (p) { return p.type === "timeZoneName"; })[0];
      return part ? part.value : "";
    } catch (e) { return ""; }
  })();
  function localTime(ms) {
    var d = new Date(ms);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + (zoneName ? " " + zoneName : "");
  }
  function localizeTimes(root) {
    $$("time[data-ms]", root).forEach(function (t) { t.textContent = localTime(Number(t.getAttribute("data-ms"))); });
  }
  localizeTimes(document);

  // ------------------------------------------------------------ confirmations
  $$("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      if (!window.confirm(f.getAttribute("data-confirm"))) ev.preventDefault();
    });
  });

  // ------------------------------------------------------------ runs table
  var runsTable = $("#runs");
  if (runsTable) {
    var compareBtn = $("#compare-btn");
    var picked = function () { return $$("input.pick:checked").map(function (c) { return c.value; }); };
    var refresh = function () {
      var n = picked().length;
      compareBtn.disabled = n < 1; compareBtn.textContent = "Compare selected (" + n + ")";
      var all = $("#pick-all"), boxes = $$("tr.run:not([hidden]) input.pick");
      if (all) all.checked = boxes.length > 0 && boxes.every(function (c) { return c.checked; });
    };
    // Back/Forward: the browser restores checkboxes after scripts ran (or from its page cache); recount then
    window.addEventListener("pageshow", refresh);
    window.addEventListener("load", refresh);
    runsTable.addEventListener("change", function (ev) { if (ev.target.classList.contains("pick")) refresh(); });
    var pickAll = $("#pick-all");
    if (pickAll) pickAll.addEventListener("change", function () {
      var on = pickAll.checked;
      $$("tr.run:not([hidden]) input.pick").forEach(function (c) { c.checked = on; }); refresh();
    });
    compareBtn.addEventListener("click", function () { location.href = P + "/compare?runs=" + picked().join(","); });
    // a parent's children are fetched (as server-rendered rows) the first time it is expanded
    var colsInput = $("#cols-input");
    $$("a.toggle").forEach(function (b) {
      b.addEventListener("click", function (ev) {
        ev.preventDefault();
        var id = b.getAttribute("data-toggle"), open = b.getAttribute("aria-expanded") !== "true";
        var rows = function () { return $$('tr[data-parent="' + CSS.escape(id) + '"]'); };
        var show = function () {
          b.setAttribute("aria-expanded", open ? "true" : "false");
          b.textContent = (open ? "▾ " : "▸ ") + b.textContent.slice(2);
          rows().forEach(function (r) { r.hidden = !open; });
        };
        if (!open || b.getAttribute("data-loaded")) { show(); return; }
        var url = P + "/ui-api/children?" + qs({
          experiment_id: runsTable.getAttribute("data-experiment"), parent: id, cols: colsInput ? colsInput.value : "",
        });
        fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
          b.closest("tr").insertAdjacentHTML("afterend", html);  // server-rendered, autoescaped rows
          localizeTimes(runsTable);
          b.setAttribute("data-loaded", "1");
          show();
        });
      });
    });
    refresh();
  }

  var rowCount = $("#row-count[data-count-url]");
  if (rowCount) getJSON(rowCount.getAttribute("data-count-url")).then(function (b) {
    $(".total", rowCount).textContent = b.total.toLocaleString("en-US");
    rowCount.setAttribute("data-total", String(b.total));
  }).catch(function () { $(".total", rowCount).textContent = "?"; });
  // the Runs tab's count (a scan over the experiment's runs) comes after the page, like the table's
  $$("nav.tabs .count[data-count-url]").forEach(function (c) {
    getJSON(c.getAttribute("data-count-url")).then(function (b) {
      c.textContent = b.total.toLocaleString("en-US"); c.setAttribute("data-total", String(b.total));
    }).catch(function () { c.textContent = "?"; });
  });

  var pickerBtn = $("#col-picker-btn");
  if (pickerBtn) pickerBtn.addEventListener("click", function () {
    var box = $("#col-picker"), input = $("#cols-input");
    if (!box.hidden) { box.hidden = true; return; }
    box.textContent = "Loading…"; box.hidden = false;
    getJSON(P + "/ui-api/columns?experiment_id=" + encodeURIComponent(pickerBtn.getAttribute("data-experiment"))).then(function (keys) {
      var chosen = input.value.split(",").filter(Boolean);
      box.textContent = "";
      ["metrics", "params", "tags"].forEach(function (kind) {
        (keys[kind] || []).forEach(function (k) {
          var id = kind + "." + k, lab = el("label"), cb = el("input", { type: "checkbox", value: id });
          cb.checked = chosen.indexOf(id) >= 0;
          cb.addEventListener("change", function () {
            var cur = input.value.split(",").filter(Boolean);
            if (cb.checked) { if (cur.indexOf(id) < 0) cur.push(id); } else { cur = cur.filter(function (c) { return c !== id; }); }
            input.value = cur.join(",");
          });
          lab.appendChild(cb); lab.appendChild(document.createTextNode(" " + id)); box.appendChild(lab);
        });
      });
      var apply = el("button", { type: "button", id: "col-apply" }, "Apply columns");
      apply.addEventListener("click", function () { $("#table-form").submit(); });
      box.appendChild(apply);
    }).catch(function (e) { box.textContent = e.message; });
  });

  // ------------------------------------------------------------ metric charts (uPlot)
  var seriesCache = {};
  // a metric of many runs, fetched 50 runs a request (URLs stay short), in run order
  function fetchSeries(runIds, key, maxPoints, extra) {
    var chunks = [];
    for (var i = 0; i < runIds.length; i += 50) chunks.push(runIds.slice(i, i + 50));
    return Promise.all(chunks.map(function (ids) {
      var url = P + "/ui-api/metric-series?" + qs(Object.assign({ run_ids: ids.join(","), key: key, max_points: maxPoints || 1000 }, extra || {}));
      if (!seriesCache[url]) seriesCache[url] = getJSON(url).then(function (b) { return b.series; });
      return seriesCache[url];
    })).then(function (lists) { return [].concat.apply([], lists); });
  }
  function smooth(ys, alpha) {
    if (!alpha) return ys;
    var out = new Array(ys.length), last = 0, n = 0;
    for (var i = 0; i < ys.length; i++) {
      if (ys[i] == null) { out[i] = null; continue; }
      last = alpha * last + (1 - alpha) * ys[i]; n++;
      out[i] = last / (1 - Math.pow(alpha, n));
    }
    return out;
  }
  function xValues(s, mode) {
    if (mode === "time") return s.ts.map(function (t) { return t / 1000; });
    if (mode === "relative") return s.ts.map(function (t) { return (t - (s.start_time || s.ts[0])) / 1000; });
    return s.step;
  }
  // one table per series: [x, value, (min, max)], sorted by x with duplicate x keeping the last point
  function table(s, mode, alpha) {
    var xs = xValues(s, mode), idx = xs.map(function (_, i) { return i; });
    idx.sort(function (a, b) { return xs[a] - xs[b] || a - b; });
    var keep = [];
    for (var j = 0; j < idx.length; j++) {
      if (j + 1 < idx.length && xs[idx[j + 1]] === xs[idx[j]]) continue;
      keep.push(idx[j]);
    }
    var pick = function (arr) { return keep.map(function (i) { return arr[i]; }); };
    var t = [pick(xs), smooth(pick(s.value), alpha)];
    if (s.min) { t.push(pick(s.min)); t.push(pick(s.max)); }
    return t;
  }
  // the uPlot data of a list of series: one [x, value, (min, max)] table per series, joined on x
  function chartData(seriesList, opts, banded) {
    var tables = seriesList.map(function (s, i) {
      var t = table(s, opts.x, opts.alpha);
      if (banded[i] && t.length === 2) { t.push(t[1].slice()); t.push(t[1].slice()); }  // full detail: min = max = value
      return t;
    });
    return tables.length === 1 ? tables[0] : uPlot.join(tables);
  }
  function drawChart(container, title, seriesList, opts) {
    var series = [{ label: opts.x === "step" ? "step" : "seconds" }], bands = [], col = 1, banded = [];
    seriesList.forEach(function (s, i) {
      var color = COLORS[i % COLORS.length], label = s.label;
      banded.push(!!s.min);
      series.push({ label: label, stroke: color, width: 1.5, spanGaps: true });
      col++;
      if (s.min) {
        series.push({ label: label + " min", stroke: color + "55", width: 0.5, spanGaps: true });
        series.push({ label: label + " max", stroke: color + "55", width: 0.5, spanGaps: true });
        bands.push({ series: [col + 1, col], fill: color + "22" });
        col += 2;
      }
    });
    if (!seriesList.some(function (s) { return s.step.length; })) return null;
    var full = chartData(seriesList, opts, banded);
    var box = el("div", { "class": "chart" });
    box.appendChild(el("h3", null, title));
    container.appendChild(box);
    var width = Math.min(560, Math.max(300, ((container.clientWidth || 600) - 60) / 2));
    var many = seriesList.length > 8;
    // zoom: a downsampled chart fetches the visible range again, downsampled to its pixel width
    var zoomSeq = 0, zoomTimer = null, settingDetail = false;
    var onScale = function (u, key) {
      if (key !== "x" || settingDetail || !opts.refetch || !banded.some(Boolean)) return;
      var mn = u.scales.x.min, mx = u.scales.x.max, xs = full[0];
      clearTimeout(zoomTimer);
      if (mn <= xs[0] && mx >= xs[xs.length - 1]) {
        if (box.getAttribute("data-detail")) { box.removeAttribute("data-detail"); settingDetail = true; u.setData(full, true); settingDetail = false; }
        return;
      }
      zoomTimer = setTimeout(function () {
        var seq = ++zoomSeq, px = Math.round(u.bbox.width / (window.devicePixelRatio || 1));
        opts.refetch(mn, mx, px).then(function (list) {
          if (seq !== zoomSeq) return;
          list.forEach(function (s, i) { s.label = seriesList[i] ? seriesList[i].label : s.key; });
          settingDetail = true;
          u.setData(chartData(list, opts, banded), false);
          u.setScale("x", { min: mn, max: mx });
          settingDetail = false;
          box.setAttribute("data-detail", String(list.reduce(function (n, s) { return n + s.step.length; }, 0)));
        });
      }, 120);
    };
    var u = new uPlot({
      width: width, height: 240, series: series, bands: bands,
      scales: { x: { time: opts.x === "time" }, y: opts.log ? { distr: 3 } : {} },
      cursor: { drag: { x: true, y: false } },
      legend: { show: !many, live: true },
      hooks: { setScale: [onScale] },
    }, full, box);
    u.over.addEventListener("dblclick", function () { settingDetail = true; u.setData(full, true); settingDetail = false; box.removeAttribute("data-detail"); });
    box.__uplot = u;
    if (many) box.appendChild(legendList(seriesList));
    box.appendChild(dataTable(title, seriesList, opts));
    return u;
  }
  // a collapsed legend for charts of many series (one line per run, in the chart's colours)
  function legendList(seriesList) {
    var d = el("details", { "class": "legend" }), ul = el("ul");
    d.appendChild(el("summary", null, "Legend (" + seriesList.length + " series)"));
    seriesList.forEach(function (s, i) {
      var li = el("li"), sw = el("span", { "class": "swatch" });
      sw.style.background = COLORS[i % COLORS.length];
      li.appendChild(sw); li.appendChild(document.createTextNode(" " + s.label)); ul.appendChild(li);
    });
    d.appendChild(ul);
    return d;
  }
  // the chart's text alternative: its points as a table (the downsampled buckets for long series)
  function dataTable(title, seriesList, opts) {
    var d = el("details", { "class": "chart-table" }), tbl = el("table", { "class": "grid" });
    d.appendChild(el("summary", null, "Data table"));
    var head = el("tr");
    [opts.x === "step" ? "step" : opts.x === "time" ? "time" : "seconds", "series", "value", "min", "max"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    var thead = el("thead"); thead.appendChild(head); tbl.appendChild(thead);
    var body = el("tbody"), rows = 0, fmt = function (v) { return v == null ? "" : String(+Number(v).toPrecision(6)); };
    // built when first opened (a long chart has thousands of rows): synchronously in the summary's
    // click, which runs before the browser opens the element, so the rows are there as soon as it is
    // open; the "toggle" event (queued, fired later) covers opening from script
    var fill = function () {
      if (d.hasAttribute("data-rows")) return;
      seriesList.forEach(function (s) {
        var xs = xValues(s, opts.x);
        for (var i = 0; i < xs.length && rows < 5000; i++, rows++) {
          var tr = el("tr");
          [opts.x === "time" ? new Date(xs[i] * 1000).toISOString() : fmt(xs[i]), s.label, fmt(s.value[i]), s.min ? fmt(s.min[i]) : "", s.max ? fmt(s.max[i]) : ""].forEach(function (c) { tr.appendChild(el("td", null, c)); });
          body.appendChild(tr);
        }
      });
      d.setAttribute("data-rows", String(rows));
    };
    d.firstChild.addEventListener("click", fill);
    d.addEventListener("toggle", function () { if (d.open) fill(); });
    tbl.appendChild(body); d.appendChild(tbl);
    d.setAttribute("aria-label", "Data of the chart " + title);
    return d;
  }

  // long histories: the page leaves min/max to the downsampled series (bucket min/max are exact)
  function fillRanges(results) {
    results.forEach(function (list) {
      if (list.length !== 1) return;
      var s = list[0], row = document.querySelector('#metrics tr[data-fill-range][data-key="' + CSS.escape(s.key) + '"]');
      if (!row) return;
      var lo = (s.min || s.value).filter(function (v) { return v != null; }), hi = (s.max || s.value).filter(function (v) { return v != null; });
      var fmt = function (v) { return v == null || !isFinite(v) ? "" : String(+v.toPrecision(6)); };
      $(".min", row).textContent = fmt(lo.reduce(function (a, b) { return Math.min(a, b); }, Infinity));
      $(".max", row).textContent = fmt(hi.reduce(function (a, b) { return Math.max(a, b); }, -Infinity));
      $(".steps", row).textContent = String(s.count);
      row.removeAttribute("data-fill-range");
    });
  }

  // chart settings live in the URL (replaceState), like the runs table's filter, sort and columns
  function chartStateFromUrl(controls) {
    var q = new URLSearchParams(location.search);
    if (q.get("chart_x")) $(".x-axis", controls).value = q.get("chart_x");
    if (q.get("smooth")) $(".smoothing", controls).value = q.get("smooth");
    if (q.has("log")) $(".log-scale", controls).checked = q.get("log") === "1";
    if (q.has("overlay")) $(".overlay", controls).checked = q.get("overlay") === "1";
    if (q.has("show")) {
      var shown = q.get("show").split(",");
      $$(".chart-key").forEach(function (c) { c.checked = shown.indexOf(c.value) >= 0; });
    }
  }
  function chartStateToUrl(controls) {
    var q = new URLSearchParams(location.search);
    var put = function (k, v, dflt) { if (v === dflt) q.delete(k); else q.set(k, v); };
    put("chart_x", $(".x-axis", controls).value, "step");
    put("smooth", String(parseFloat($(".smoothing", controls).value) || 0), "0");
    put("log", $(".log-scale", controls).checked ? "1" : "0", "0");
    put("overlay", $(".overlay", controls).checked ? "1" : "0", "0");
    q.set("show", $$(".chart-key:checked").map(function (c) { return c.value; }).join(","));
    var url = location.pathname + "?" + q.toString() + location.hash;
    if (url !== location.pathname + location.search + location.hash) history.replaceState(history.state, "", url);
  }
  function setupCharts(controls, target) {
    var runIds = controls.getAttribute("data-run-ids").split(",").filter(Boolean);
    var names = {};
    chartStateFromUrl(controls);
    var render = function (ev) {
      if (ev) chartStateToUrl(controls);  // a user change (not the first draw, nor a live refresh)
      var keys = $$(".chart-key:checked").map(function (c) { return c.value; });
      var opts = {
        x: $(".x-axis", controls).value,
        alpha: parseFloat($(".smoothing", controls).value) || 0,
        log: $(".log-scale", controls).checked,
      };
      var overlay = $(".overlay", controls).checked;
      var refetchFor = function (chartKeys) {
        return function (mn, mx, px) {
          var scale = opts.x === "step" ? 1 : 1000;  // the time axes are in seconds, the API in ms
          var lo = Math.floor(mn * scale), hi = Math.ceil(mx * scale);
          return Promise.all(chartKeys.map(function (k) {
            return fetchSeries(runIds, k, Math.max(30, px * 3), { x_axis: opts.x, x_min: lo, x_max: hi });
          })).then(function (lists) { return [].concat.apply([], lists); });
        };
      };
      Promise.all(keys.map(function (k) { return fetchSeries(runIds, k); })).then(function (results) {
        target.textContent = "";
        var label = function (s) {
          var run = runIds.length > 1 ? (s.run_name || s.run_id.slice(0, 8)) : "";
          return (overlay || runIds.length === 1 ? s.key : "") + (run && (overlay || runIds.length === 1) ? " · " : "") + run;
        };
        results.forEach(function (list) { list.forEach(function (s) { s.label = label(s) || s.key; names[s.run_id] = s.run_name; }); });
        fillRanges(results);
        if (overlay) drawChart(target, keys.join(", "), [].concat.apply([], results), Object.assign({ refetch: refetchFor(keys) }, opts));
        else results.forEach(function (list, i) { drawChart(target, keys[i], list, Object.assign({ refetch: refetchFor([keys[i]]) }, opts)); });
        target.setAttribute("data-drawn-ms", String(performance.now()));  // read by bench/bench_ui.py
        target.setAttribute("data-drawn", String(Date.now()));
      }).catch(function (e) { target.textContent = ""; target.appendChild(el("p", { "class": "error" }, e.message)); });
    };
    controls.addEventListener("change", render);
    $$(".chart-key").forEach(function (c) { c.addEventListener("change", render); });
    var smoothing = $(".smoothing", controls);
    if (smoothing) smoothing.addEventListener("input", render);
    render();
    return render;
  }
  var chartControls = $("#chart-controls"), redrawCharts = null;
  if (chartControls && window.uPlot) redrawCharts = setupCharts(chartControls, $("#charts"));
  else if (chartControls) window.addEventListener("load", function () { redrawCharts = setupCharts(chartControls, $("#charts")); });

  // ------------------------------------------------------------ live runs: ticking duration, polled metrics
  function fmtDur(ms) {
    var s = Math.max(0, ms / 1000);
    return s < 60 ? s.toFixed(1) + "s" : s < 3600 ? (s / 60).toFixed(1) + "min" : (s / 3600).toFixed(1) + "h";
  }
  function tick() {
    $$("[data-tick][data-start]").forEach(function (e) {
      if (!e.getAttribute("data-end")) e.textContent = fmtDur(Date.now() - Number(e.getAttribute("data-start")));
    });
  }
  if ($("[data-tick]")) { tick(); setInterval(tick, 1000); }
  var live = $("#run-duration[data-live]");
  if (live) {
    live.setAttribute("data-tick", "1"); tick(); setInterval(tick, 1000);
    var fmtNum = function (v) { return v == null || v === "" ? "" : typeof v === "number" ? String(+v.toPrecision(6)) : String(v); };
    var lastCounts = null, poll = function () {
      getJSON(P + "/ui-api/run-live?" + qs({ run_id: live.getAttribute("data-live") })).then(function (b) {
        var st = $("#run-status"); st.textContent = b.status; st.className = "status " + b.status.toLowerCase();
        var counts = JSON.stringify(b.metrics.map(function (m) { return [m.key, m.steps, m.latest]; }));
        var known = $$("#metrics tbody tr[data-key]").map(function (r) { return r.getAttribute("data-key"); });
        if (b.metrics.some(function (m) { return known.indexOf(m.key) < 0; })) { location.reload(); return; }  // a new metric: new rows and charts
        b.metrics.forEach(function (m) {
          var row = $('#metrics tr[data-key="' + CSS.escape(m.key) + '"]'); if (!row) return;
          row.cells[1].textContent = fmtNum(m.latest);
          if (m.exact) { $(".min", row).textContent = fmtNum(m.min); $(".max", row).textContent = fmtNum(m.max); $(".steps", row).textContent = String(m.steps); }
        });
        if (lastCounts !== null && counts !== lastCounts && redrawCharts) { seriesCache = {}; redrawCharts(); }
        lastCounts = counts;
        document.body.setAttribute("data-live-polls", String(Number(document.body.getAttribute("data-live-polls") || 0) + 1));
        if (!b.active) {
          live.setAttribute("data-end", String(b.end_time || Date.now()));
          live.textContent = fmtDur((b.end_time || Date.now()) - Number(live.getAttribute("data-start")));
          $("#run-ended").textContent = b.end_time ? localTime(b.end_time) : "";
          var note = $("#live-note"); if (note) note.remove();
          return;
        }
        setTimeout(poll, LIVE_MS);
      }).catch(function () { setTimeout(poll, LIVE_MS * 2); });
    };
    var LIVE_MS = Number(window.labkeepLiveMs || 5000);  // tests shorten the period
    setTimeout(poll, LIVE_MS);
  }

  // ------------------------------------------------------------ grouped charts (mean with min–max band)
  var groupBtn = $("#group-chart-btn");
  if (groupBtn) groupBtn.addEventListener("click", function () {
    var exp = $("#group-chart-controls").getAttribute("data-experiment"), key = $("#group-metric").value;
    var target = $("#group-chart"); target.textContent = "Loading…";
    // every run of each group, aggregated by the server (the table's own filter and grouping)
    var params = { experiment_id: exp, key: key, max_points: 500 };
    new URLSearchParams(location.search).forEach(function (v, k) { if (["filter", "group", "view"].indexOf(k) >= 0) params[k] = v; });
    getJSON(P + "/ui-api/group-series?" + qs(params)).then(function (res) {
      target.textContent = "";
      var series = res.groups.slice(0, 10).map(function (g) {
        return {
          key: key, label: (g.value == null ? "(none)" : g.value) + " (n=" + g.runs + ")",
          step: g.step, ts: g.step, value: g.value_mean, min: g.min, max: g.max,
        };
      }).filter(function (s) { return s.step.length; });
      drawChart(target, key + " by group", series, { x: "step", alpha: 0, log: false });
      target.setAttribute("data-drawn", "1");
      target.setAttribute("data-runs", String(res.groups.reduce(function (n, g) { return n + g.runs; }, 0)));
    }).catch(function (e) { target.textContent = e.message; });
  });

  // ------------------------------------------------------------ artifacts browsers (run + logged models)
  // Every entry is a real link (?artifact=<path>, plus &model=<id> in a model card): keyboard
  // reachable, and choosing one puts it in the URL, so a preview can be linked to and Back works.
  var fmtSize = function (n) { return n == null ? "" : n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " KB" : (n / 1048576).toFixed(1) + " MB"; };
  function artifactBrowser(box) {
    var modelId = box.getAttribute("data-model-id"), owner = modelId ? { model_id: modelId } : { run_id: box.getAttribute("data-run-id") };
    var tree = $(".tree", box), pane = $(".preview", box), previewSeq = 0;
    var href = function (path) {
      var q = new URLSearchParams(location.search);
      q.delete("artifact"); q.delete("model");
      if (modelId) q.set("model", modelId);
      q.set("artifact", path);
      return location.pathname + "?" + q.toString();
    };
    var showPreview = function (path) {
      var seq = ++previewSeq;  // a slower, older preview must not overwrite a newer one
      $$("a.sel", tree).forEach(function (a) { a.classList.remove("sel"); a.removeAttribute("aria-current"); });
      var link = tree.querySelector('a[data-path="' + CSS.escape(path) + '"]');
      if (link) { link.classList.add("sel"); link.setAttribute("aria-current", "true"); }
      pane.textContent = "Loading…";
      fetch(P + "/ui-api/artifact-preview?" + qs(Object.assign({ path: path }, owner)), { credentials: "same-origin" })
        .then(function (r) { return r.text().then(function (t) { if (!r.ok) { var m; try { m = JSON.parse(t).message; } catch (e) { m = t; } throw new Error(m); } return t; }); })
        .then(function (html) { if (seq !== previewSeq) return; pane.innerHTML = html; /* server-rendered, autoescaped fragment */ makeSortable(pane); pane.setAttribute("data-path", path); })
        .catch(function (e) { if (seq !== previewSeq) return; pane.textContent = ""; pane.appendChild(el("p", { "class": "error" }, e.message)); });
    };
    var list = function (path, into) {
      return getJSON(P + "/ui-api/artifacts?" + qs(Object.assign({ path: path }, owner))).then(function (body) {
        var ul = el("ul");
        (body.files || []).forEach(function (f) {
          var li = el("li"), name = f.path.split("/").pop();
          var a = el("a", { "data-path": f.path, href: href(f.path) }, (f.is_dir ? "▸ " : "") + name);
          if (f.is_dir) a.setAttribute("aria-expanded", "false");
          li.appendChild(a);
          if (!f.is_dir) li.appendChild(el("span", { "class": "size" }, fmtSize(f.file_size)));
          a.addEventListener("click", function (ev) {
            if (ev.ctrlKey || ev.metaKey || ev.shiftKey) return;  // open in a new tab as usual
            ev.preventDefault();
            if (f.is_dir) toggle(f.path, li, a, name);
            history.pushState({ artifact: f.path, model: modelId }, "", href(f.path));
            showPreview(f.path);
          });
          ul.appendChild(li);
        });
        if (!body.files || !body.files.length) ul.appendChild(el("li", { "class": "muted" }, path ? "(empty)" : box.getAttribute("data-empty") || "No artifacts."));
        into.appendChild(ul);
      });
    };
    var toggle = function (path, li, a, name, forceOpen) {
      var open = li.querySelector("ul");
      if (open && !forceOpen) { open.remove(); a.textContent = "▸ " + name; a.setAttribute("aria-expanded", "false"); return Promise.resolve(); }
      if (open) return Promise.resolve();
      a.textContent = "▾ " + name; a.setAttribute("aria-expanded", "true");
      return list(path, li);
    };
    // open the folders down to a deep-linked path, then preview it
    var reveal = function (path) {
      var parts = path.split("/"), i = 0;
      var step = function () {
        if (i >= parts.length - 1) { showPreview(path); var s = tree.querySelector("a.sel"); if (s) s.scrollIntoView({ block: "nearest" }); box.scrollIntoView({ block: "start" }); return; }
        var dir = parts.slice(0, ++i).join("/"), a = tree.querySelector('a[data-path="' + CSS.escape(dir) + '"]');
        if (!a) { showPreview(path); return; }
        toggle(dir, a.parentNode, a, parts[i - 1], true).then(step);
      };
      step();
    };
    var fromUrl = function () {
      var q = new URLSearchParams(location.search), path = q.get("artifact");
      if (path && (q.get("model") || null) === (modelId || null)) reveal(path);
    };
    tree.textContent = "";
    list("", tree).then(fromUrl).catch(function (e) { tree.appendChild(el("p", { "class": "error" }, e.message)); });
    window.addEventListener("popstate", fromUrl);
  }
  $$(".artifacts[data-run-id], .artifacts[data-model-id]").forEach(artifactBrowser);

  function makeSortable(root) {
    $$("table.sortable", root).forEach(function (t) {
      $$("thead th", t).forEach(function (th, col) {
        th.addEventListener("click", function () {
          var asc = th.getAttribute("data-dir") !== "asc";
          $$("thead th", t).forEach(function (h) { h.removeAttribute("data-dir"); });
          th.setAttribute("data-dir", asc ? "asc" : "desc");
          var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
          rows.sort(function (a, b) {
            var x = a.cells[col] ? a.cells[col].textContent : "", y = b.cells[col] ? b.cells[col].textContent : "";
            var nx = parseFloat(x), ny = parseFloat(y), r;
            r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
            return asc ? r : -r;
          });
          rows.forEach(function (r) { body.appendChild(r); });
        });
      });
    });
  }
  makeSortable(document);

  // ------------------------------------------------------------ compare: parallel coordinates + scatter
  var cmpData = $("#compare-data");
  if (cmpData) {
    var cmp = JSON.parse(cmpData.textContent);
    var value = function (id, i) {
      var kind = id.split(".")[0], key = id.slice(kind.length + 1);
      var rows = kind === "params" ? cmp.params : cmp.metrics;
      for (var j = 0; j < rows.length; j++) if (rows[j].key === key) return rows[j].vals[i];
      return null;
    };
    var axisOf = function (vals) {
      var nums = vals.filter(function (v) { return v != null && v !== "" && !isNaN(Number(v)); });
      if (nums.length === vals.filter(function (v) { return v != null; }).length && nums.length) {
        var lo = Math.min.apply(null, nums.map(Number)), hi = Math.max.apply(null, nums.map(Number));
        return { pos: function (v) { return v == null ? null : hi === lo ? 0.5 : (Number(v) - lo) / (hi - lo); }, lo: lo, hi: hi };
      }
      var cats = []; vals.forEach(function (v) { if (v != null && cats.indexOf(String(v)) < 0) cats.push(String(v)); });
      cats.sort();
      return { pos: function (v) { return v == null ? null : cats.length < 2 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1); }, cats: cats };
    };
    var color = function (t) { t = t == null ? 0.5 : t; return "rgb(" + Math.round(40 + 200 * t) + "," + Math.round(90 + 40 * (1 - Math.abs(t - 0.5) * 2)) + "," + Math.round(235 - 200 * t) + ")"; };
    var n = cmp.runs.length;
    var fmtV = function (v) { return v == null ? "" : isNaN(Number(v)) ? String(v) : String(+Number(v).toPrecision(4)); };
    var drawParallel = function () {
      var canvas = $("#parallel"); if (!canvas) return;
      var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
      ctx.clearRect(0, 0, W, H); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
      var params = $$("#pc-params option").filter(function (o) { return o.selected; }).map(function (o) { return "params." + o.value; });
      var metric = $("#pc-metric") && $("#pc-metric").value;
      var ids = params.concat(metric ? ["metrics." + metric] : []);
      if (ids.length < 2) { ctx.fillStyle = "#666"; ctx.fillText("Choose at least one param and a metric.", 20, 30); return; }
      var axes = ids.map(function (id) { var vals = []; for (var i = 0; i < n; i++) vals.push(value(id, i)); return { id: id, vals: vals, axis: axisOf(vals) }; });
      var x = function (k) { return 60 + k * (W - 120) / (ids.length - 1); }, y = function (t) { return H - 30 - t * (H - 70); };
      var mAxis = axes[axes.length - 1];
      ctx.lineWidth = 1.5;
      for (var i = 0; i < n; i++) {
        ctx.strokeStyle = color(mAxis.axis.pos(mAxis.vals[i])); ctx.beginPath();
        var started = false;
        axes.forEach(function (a, k) {
          var t = a.axis.pos(a.vals[i]); if (t == null) { started = false; return; }
          if (!started) { ctx.moveTo(x(k), y(t)); started = true; } else ctx.lineTo(x(k), y(t));
        });
        ctx.stroke();
      }
      ctx.strokeStyle = "#333"; ctx.fillStyle = "#222"; ctx.font = "12px sans-serif"; ctx.textAlign = "center";
      axes.forEach(function (a, k) {
        ctx.beginPath(); ctx.moveTo(x(k), y(0)); ctx.lineTo(x(k), y(1)); ctx.stroke();
        ctx.fillText(a.id, x(k), 16);
        if (a.axis.cats) a.axis.cats.forEach(function (c) { ctx.fillText(c.slice(0, 14), x(k), y(a.axis.pos(c)) - 3); });
        else { ctx.fillText(String(+a.axis.hi.toPrecision(4)), x(k), y(1) - 4); ctx.fillText(String(+a.axis.lo.toPrecision(4)), x(k), y(0) + 14); }
      });
      canvas.setAttribute("data-drawn", String(n));
      // colour legend: line colour = the metric's value
      var legend = $("#pc-legend");
      if (legend) {
        legend.textContent = "";
        var bar = el("span", { "class": "bar", role: "img", "aria-label": "colour scale of " + mAxis.id });
        bar.style.background = "linear-gradient(to right, " + [0, 0.25, 0.5, 0.75, 1].map(color).join(", ") + ")";
        var ends = mAxis.axis.cats ? [mAxis.axis.cats[0], mAxis.axis.cats[mAxis.axis.cats.length - 1]] : [fmtV(mAxis.axis.lo), fmtV(mAxis.axis.hi)];
        legend.appendChild(el("span", null, "Line colour: " + mAxis.id));
        legend.appendChild(el("span", { "class": "lo" }, ends[0] == null ? "" : String(ends[0])));
        legend.appendChild(bar);
        legend.appendChild(el("span", { "class": "hi" }, ends[1] == null ? "" : String(ends[1])));
      }
    };
    var drawScatter = function () {
      var canvas = $("#scatter"); if (!canvas || !$("#sc-x")) return;
      var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
      ctx.clearRect(0, 0, W, H); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
      var xi = $("#sc-x").value, yi = $("#sc-y").value, xs = [], ys = [];
      for (var i = 0; i < n; i++) { xs.push(value(xi, i)); ys.push(value(yi, i)); }
      var ax = axisOf(xs), ay = axisOf(ys);
      ctx.strokeStyle = "#333"; ctx.beginPath(); ctx.moveTo(50, 20); ctx.lineTo(50, H - 40); ctx.lineTo(W - 20, H - 40); ctx.stroke();
      ctx.fillStyle = "#222"; ctx.font = "12px sans-serif"; ctx.fillText(xi, W / 2 - 40, H - 12); ctx.save(); ctx.translate(12, H / 2 + 40); ctx.rotate(-Math.PI / 2); ctx.fillText(yi, -40, 0); ctx.restore();
      var ticks = function (axis, at) {  // range ends, or the categories, along an axis
        var labels = axis.cats ? axis.cats.map(function (c) { return [c.slice(0, 12), axis.pos(c)]; })
          : axis.lo == null ? [] : [[String(+axis.lo.toPrecision(4)), 0], [String(+axis.hi.toPrecision(4)), 1]];
        labels.forEach(function (l) { at(l[0], l[1]); });
      };
      ctx.fillStyle = "#555";
      ticks(ax, function (t, p) { ctx.fillText(t, 60 + p * (W - 100) - 10, H - 26); });
      ticks(ay, function (t, p) { ctx.fillText(t.slice(0, 7), 4, H - 50 - p * (H - 90) + 4); });
      var drawn = 0, pts = [];
      for (var j = 0; j < n; j++) {
        var tx = ax.pos(xs[j]), ty = ay.pos(ys[j]); if (tx == null || ty == null) continue;
        var px = 60 + tx * (W - 100), py = H - 50 - ty * (H - 90);
        ctx.fillStyle = COLORS[j % COLORS.length]; ctx.beginPath();
        ctx.arc(px, py, 5, 0, 2 * Math.PI); ctx.fill(); drawn++;
        pts.push({ x: px, y: py, text: cmp.runs[j].run_name + " — " + xi + "=" + fmtV(xs[j]) + ", " + yi + "=" + fmtV(ys[j]) });
      }
      canvas.__points = pts;
      canvas.setAttribute("data-drawn", String(drawn));
    };
    // metrics logged once per run: a bar per run (sorted), or a scatter against a param
    var drawSingle = function () {
      var canvas = $("#single-chart"); if (!canvas) return;
      var key = $("#single-metric").value, against = $("#single-x").value, id = "metrics." + key;
      var ctx = canvas.getContext("2d"), pts = [], i;
      var rows = [];
      for (i = 0; i < n; i++) { var v = value(id, i); if (v != null && v !== "" && isFinite(Number(v))) rows.push({ i: i, v: Number(v) }); }
      var lo = Math.min.apply(null, rows.map(function (r) { return r.v; }).concat([0])), hi = Math.max.apply(null, rows.map(function (r) { return r.v; }));
      if (!against) {
        rows.sort(function (a, b) { return b.v - a.v; });
        canvas.height = Math.max(120, rows.length * 16 + 30);
        var W = canvas.width, left = 170, span = (hi - lo) || 1;
        ctx.clearRect(0, 0, W, canvas.height); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, canvas.height);
        ctx.font = "11px sans-serif";
        rows.forEach(function (r, k) {
          var y = 10 + k * 16, w = Math.max(1, (r.v - lo) / span * (W - left - 70));
          ctx.fillStyle = COLORS[r.i % COLORS.length]; ctx.fillRect(left, y, w, 12);
          ctx.fillStyle = "#222"; ctx.textAlign = "right"; ctx.fillText(String(cmp.runs[r.i].run_name).slice(0, 26), left - 6, y + 10);
          ctx.textAlign = "left"; ctx.fillText(fmtV(r.v), left + w + 4, y + 10);
          pts.push({ x: left + w / 2, y: y + 6, text: cmp.runs[r.i].run_name + " — " + key + "=" + fmtV(r.v), box: [left, y, w, 12] });
        });
      } else {
        canvas.height = 320;
        var Wd = canvas.width, H = canvas.height, xsv = rows.map(function (r) { return value(against, r.i); });
        var ax = axisOf(xsv), ayRange = (hi - lo) || 1;
        ctx.clearRect(0, 0, Wd, H); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, Wd, H);
        ctx.strokeStyle = "#333"; ctx.beginPath(); ctx.moveTo(50, 20); ctx.lineTo(50, H - 40); ctx.lineTo(Wd - 20, H - 40); ctx.stroke();
        ctx.fillStyle = "#222"; ctx.font = "12px sans-serif"; ctx.textAlign = "center"; ctx.fillText(against, Wd / 2, H - 8);
        (ax.cats || []).forEach(function (c) { ctx.fillText(c.slice(0, 12), 60 + ax.pos(c) * (Wd - 100), H - 26); });
        if (!ax.cats && ax.lo != null) { ctx.fillText(fmtV(ax.lo), 60, H - 26); ctx.fillText(fmtV(ax.hi), Wd - 40, H - 26); }
        ctx.textAlign = "left"; ctx.fillText(fmtV(hi), 4, 24); ctx.fillText(fmtV(lo), 4, H - 44);
        rows.forEach(function (r, k) {
          var t = ax.pos(xsv[k]); if (t == null) return;
          var px = 60 + t * (Wd - 100) + ((r.i * 7) % 9 - 4) * (ax.cats ? 1 : 0), py = H - 50 - (r.v - lo) / ayRange * (H - 90);
          ctx.fillStyle = COLORS[r.i % COLORS.length]; ctx.beginPath(); ctx.arc(px, py, 4, 0, 2 * Math.PI); ctx.fill();
          pts.push({ x: px, y: py, text: cmp.runs[r.i].run_name + " — " + against + "=" + xsv[k] + ", " + key + "=" + fmtV(r.v) });
        });
      }
      canvas.__points = pts;
      canvas.setAttribute("data-drawn", String(rows.length));
    };
    // tooltips: the run under the pointer (nearest point within 10 px, or the bar hovered)
    $$(".canvas-box canvas").forEach(function (canvas) {
      var tip = canvas.parentNode.querySelector(".tip");
      canvas.addEventListener("mousemove", function (ev) {
        var r = canvas.getBoundingClientRect(), sx = canvas.width / r.width, sy = canvas.height / r.height;
        var x = (ev.clientX - r.left) * sx, y = (ev.clientY - r.top) * sy, best = null, bd = 100;
        (canvas.__points || []).forEach(function (p) {
          if (p.box && x >= p.box[0] && x <= p.box[0] + Math.max(p.box[2], 40) && y >= p.box[1] && y <= p.box[1] + p.box[3]) { best = p; bd = 0; return; }
          var d = (p.x - x) * (p.x - x) + (p.y - y) * (p.y - y); if (d < bd) { bd = d; best = p; }
        });
        if (!best) { tip.hidden = true; return; }
        tip.textContent = best.text; tip.hidden = false;
        tip.style.left = (best.x / sx + 10) + "px"; tip.style.top = (best.y / sy - 24) + "px";
      });
      canvas.addEventListener("mouseleave", function () { tip.hidden = true; });
    });
    ["#single-metric", "#single-x"].forEach(function (s) { if ($(s)) $(s).addEventListener("change", drawSingle); });
    ["#pc-params", "#pc-metric"].forEach(function (s) { if ($(s)) $(s).addEventListener("change", drawParallel); });
    ["#sc-x", "#sc-y"].forEach(function (s) { if ($(s)) $(s).addEventListener("change", drawScatter); });
    var onlyDiff = $("#only-diff");
    if (onlyDiff) onlyDiff.addEventListener("change", function () {
      var t = $("#compare-table"), hide = onlyDiff.checked;
      if (t.getAttribute("data-layout") === "columns") $$("tr.param, tr.metric", t).forEach(function (r) { r.hidden = hide && !r.classList.contains("differs"); });
      else {
        var cols = $$("thead th", t).map(function (th) { return (th.classList.contains("param") || th.classList.contains("metric")) && !th.classList.contains("differs"); });
        $$("tr", t).forEach(function (r) { Array.prototype.forEach.call(r.cells, function (c, k) { if (cols[k]) c.hidden = hide; }); });
      }
    });
    drawSingle(); drawParallel(); drawScatter();
  }
})();
