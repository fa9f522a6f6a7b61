// Ballast report: draws the runs in #ballast-data with Apache ECharts. Sets window.ballastReport
// ({charts, finished, ready, errors}) so a test can tell when every chart has drawn.
(function () {
  'use strict';

  var status = window.ballastReport = { charts: 0, finished: 0, built: false, ready: false, errors: [] };
  window.addEventListener('error', function (e) { status.errors.push(String(e.message)); });

  var D = JSON.parse(document.getElementById('ballast-data').textContent);
  var RUNS = D.runs;
  var MULTI = RUNS.length > 1;
  var KINDS = D.kinds;
  var KIND_COLORS = ['#4e79a7', '#a0cbe8', '#e15759', '#59a14f', '#b07aa1', '#e4e7eb'];
  var KIND_LABELS = ['sent with data', 'sent as zero', 'sent again', 'skipped: free', 'skipped: ballooned', 'not sent'];
  var HOLE = KINDS.length;
  var HOLE_COLOR = '#7d8590';
  var RUN_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  var PHASES = ['SETUP', 'BULK', 'ITERATE', 'STOP_AND_COPY'];
  var PHASE_LABELS = { SETUP: 'setup', BULK: 'bulk stage', ITERATE: 'iterations', STOP_AND_COPY: 'stop-and-copy', OTHER: 'between attempts' };
  var PHASE_COLORS = { SETUP: '#bab0ac', BULK: '#4e79a7', ITERATE: '#f28e2b', STOP_AND_COPY: '#e15759', OTHER: '#d4d8dd' };
  var FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif';
  var charts = [];

  // ------------------------------------------------------------------ formatting

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'style') e.style.cssText = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function esc(s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }
  function int(n) { return Math.round(n).toLocaleString('en-US'); }
  function bytes(b) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], i = 0;
    while (Math.abs(b) >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return i === 0 ? b + ' B' : b.toFixed(b >= 100 ? 0 : 1) + ' ' + u[i];
  }
  function ms(v) {
    if (v >= 10000) return (v / 1000).toFixed(v >= 100000 ? 0 : 1) + ' s';
    return v.toFixed(v >= 100 ? 1 : 2) + ' ms';
  }
  function compact(n) {
    var a = Math.abs(n);
    if (a >= 1e9) return (n / 1e9).toFixed(a >= 1e10 ? 0 : 1) + 'G';
    if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
    if (a >= 1e3) return (n / 1e3).toFixed(a >= 1e4 ? 0 : 1) + 'k';
    return String(Math.round(n * 100) / 100);
  }
  function niceCeil(x) {
    var m = Math.pow(10, Math.floor(Math.log10(x)));
    var steps = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * m >= x) return steps[i] * m;
    return 10 * m;
  }
  function pct(part, whole) {
    if (!(whole > 0)) return '-';
    var p = 100 * part / whole;
    return p > 0 && p < 0.05 ? '<0.1%' : p.toFixed(1) + '%';
  }
  function runColor(i) { return RUN_COLORS[i % RUN_COLORS.length]; }
  /** A run's name in legends: a run identical to an earlier one says so (its line is dashed over the other's). */
  function runName(r) { return r.identicalTo ? r.label + ' (identical to ' + r.identicalTo + ')' : r.label; }
  function runLine(r, i, width) { return { width: width || 1.6, color: runColor(i), type: r.identicalTo ? [6, 4] : 'solid' }; }
  /** Where in a run a pass, check or span is: the hop and attempt, when the run has more than one. */
  function where(r, x) {
    var parts = [];
    if (r.totals.hops > 1) parts.push('hop ' + x.hop);
    if (r.totals.attempts > r.totals.hops) parts.push('attempt ' + x.attempt);
    return parts.length ? parts.join(', ') + ': ' : '';
  }
  /** Vertical marks at the run's link failures, for a time chart. */
  function linkMarks(r, color) {
    if (!r.linkFailures.length) return null;
    return {
      silent: true, symbol: 'none', lineStyle: { color: color || '#c62828', type: 'dashed', width: 1.4 },
      label: { formatter: function (p) { return p.name; }, position: 'insideEndTop', color: color || '#c62828', fontSize: 11 },
      data: r.linkFailures.map(function (f) { return { xAxis: t(f.timeMs), name: 'link failed (' + f.cause + ')' }; })
    };
  }
  function withMarks(sr, r, i) {
    var m = linkMarks(r, MULTI ? runColor(i) : null);
    if (m) sr.markLine = m;
    return sr;
  }
  function sum(a) { var s = 0; for (var i = 0; i < a.length; i++) s += a[i]; return s; }
  function addressText(pfn) { return pfn === 0 ? '0' : bytes(pfn * 4096); }

  // One time unit for every time axis of the page, so runs line up.
  var MAX_MS = Math.max.apply(null, RUNS.map(function (r) { return r.series.endMs; }).concat([0.001]));
  var SECONDS = MAX_MS >= 10000;
  var TUNIT = SECONDS ? 's' : 'ms';
  function t(msValue) { return SECONDS ? msValue / 1000 : msValue; }

  // ------------------------------------------------------------------ charts

  function check() {
    if (status.built && status.finished >= status.charts) {
      status.ready = true;
      document.body.setAttribute('data-ready', 'true');
    }
  }

  function chart(parent, height, option) {
    var div = el('div', { 'class': 'chart', style: 'height:' + height + 'px' });
    parent.appendChild(div);
    var c = echarts.init(div, null, { renderer: 'canvas' });
    status.charts++;
    var counted = false;
    c.on('finished', function () {
      if (!counted) { counted = true; status.finished++; check(); }
    });
    option.animation = false;
    option.textStyle = { fontFamily: FONT };
    c.setOption(option);
    charts.push(c);
    return c;
  }

  function section(id, title, note) {
    var s = el('section', { id: id }, [el('h2', { text: title }), note ? el('p', { 'class': 'note', text: note }) : null]);
    document.getElementById('report').appendChild(s);
    return s;
  }

  function timeAxis(name) {
    return {
      type: 'value', name: name || 'time (' + TUNIT + ')', nameLocation: 'middle', nameGap: 26, min: 0, max: t(MAX_MS),
      axisLabel: { formatter: function (v) { return compact(v); }, showMaxLabel: false }, splitLine: { lineStyle: { color: '#eef0f3' } }
    };
  }

  function zoom() {
    return [{ type: 'slider', xAxisIndex: 0, height: 16, bottom: 6, filterMode: 'none', brushSelect: false },
      { type: 'inside', xAxisIndex: 0, filterMode: 'none', zoomOnMouseWheel: 'shift', moveOnMouseWheel: false }];
  }

  /** Points (bucket middle, value) of a series; values mapped by f. */
  function points(run, values, f) {
    var w = run.series.bucketMs, out = new Array(values.length);
    for (var i = 0; i < values.length; i++) out[i] = [t((i + 0.5) * w), f ? f(values[i], w) : values[i]];
    return out;
  }

  /** Background bands for one run's phases and downtime. */
  function phaseBands(run) {
    // the stop-and-copy lies inside the pause: the pause's band carries its label
    var data = run.phases.filter(function (p) { return p.name !== 'SETUP'; }).map(function (p) {
      var label = p.name === 'STOP_AND_COPY' && run.downtimes.length ? '' : (PHASE_LABELS[p.name] || p.name);
      return [{ xAxis: t(p.startMs), name: label, itemStyle: { color: PHASE_COLORS[p.name], opacity: 0.08 } },
        { xAxis: t(p.endMs) }];
    });
    run.downtimes.forEach(function (d) {
      data.push([{ xAxis: t(d.startMs), name: 'guest paused', itemStyle: { color: '#e15759', opacity: 0.22 } }, { xAxis: t(d.endMs) }]);
    });
    return { silent: true, label: { color: '#5f6b7a', fontSize: 11, position: 'insideTop' }, data: data };
  }

  function axisTooltip(unitFormat) {
    return {
      trigger: 'axis', confine: true,
      formatter: function (ps) {
        if (!ps.length) return '';
        var head = compact(ps[0].value[0]) + ' ' + TUNIT;
        return [esc(head)].concat(ps.map(function (p) {
          return p.marker + esc(p.seriesName) + ': <b>' + esc(unitFormat(p.value[1])) + '</b>';
        })).join('<br>');
      }
    };
  }

  // ------------------------------------------------------------------ header and summary

  function header() {
    var s0 = RUNS[0].settings;
    var sub = MULTI
      ? RUNS.length + ' runs: ' + RUNS.map(function (r) { return r.label; }).join(', ')
      : [s0.policy, s0.workload, bytes(s0.guestMemBytes), s0.backend, 'seed ' + s0.seed].join(' \u00b7 ');
    var common = MULTI && RUNS.every(function (r) {
      return r.settings.workload === s0.workload && r.settings.guestMemBytes === s0.guestMemBytes && r.settings.backend === s0.backend;
    });
    if (common) sub += ' \u2014 ' + [s0.workload, bytes(s0.guestMemBytes), s0.backend].join(' \u00b7 ');
    document.title = D.title;
    document.getElementById('report').appendChild(el('header', null, [
      el('h1', { text: MULTI ? 'Ballast report \u2014 ' + RUNS.length + ' runs' : 'Ballast report \u2014 ' + RUNS[0].label }),
      el('p', { 'class': 'sub', text: sub })]));
  }

  function verifyText(r) {
    if (!r.verify) return { text: 'no check', cls: '' };
    if (r.verify.mismatchedPages === 0) return { text: 'ok', cls: 'ok' };
    return { text: int(r.verify.mismatchedPages) + ' bad', cls: 'fail' };
  }

  function seedText(r) {
    if (!r.seeds.length) return null;
    return r.seeds.map(function (f) {
      return ms(f.ms) + (f.seedCase.approximate ? ' (approx.)' : '') + ', ' + f.column + ', seed ' + f.seedCase.source + ': ' + f.seedCase.title;
    }).join('; ');
  }

  function cards(r) {
    var T = r.totals;
    var v = verifyText(r);
    function card(k, value, d, cls) {
      return el('div', { 'class': 'card' }, [el('div', { 'class': 'k', text: k }), el('div', { 'class': 'v' + (cls ? ' ' + cls : ''), text: value }),
        d ? el('div', { 'class': 'd', text: d }) : null]);
    }
    var list = [
      card('total time', ms(T.timeMs), T.outcome.toLowerCase() + (T.hops > 1 ? ', ' + T.hops + ' hops' : '')
        + (T.attempts > T.hops ? ', ' + T.attempts + ' attempts' : '')),
      card('downtime', ms(T.downtimeMs), 'limit ' + ms(r.settings.downtimeLimitMs)),
      card('transferred', bytes(T.transferredBytes), int(T.normal) + ' pages with data'),
      card('iterations', String(T.iterations), 'passes over memory; setup ' + ms(T.setupMs)),
      card('skipped', compact(T.skippedFree + T.skippedBalloon) + ' pages', compact(T.skippedFree) + ' free, ' + compact(T.skippedBalloon) + ' ballooned'),
      card('verify', v.text, r.verify ? int(r.verify.checkedPages) + ' pages checked' : 'no VERIFY event', v.cls)];
    if (r.seeds.length) {
      var f = r.seeds[0];
      list.push(card("seeds' figure", (f.seedCase.approximate ? '~' : '') + ms(f.ms),
        (T.timeMs / f.ms).toFixed(2) + '\u00d7 here; ' + f.column + ', ' + f.seedCase.source));
    }
    var box = el('div', { 'class': 'cards' }, list);
    var w = warningList(r);
    if (w) box.appendChild(w);
    document.getElementById('report').appendChild(box);
  }

  /**
   * The run's warnings (ReportData.warnings: a failed check, a link failure, a migration that did not
   * complete, ...), or null when there are none. The one place the report shows per-run flags.
   */
  function warningList(r, withLabel) {
    if (!r.warnings.length) return null;
    return el('div', { 'class': 'warnings' }, [el('div', { 'class': 'k', text: (withLabel ? r.label + ': ' : '') + 'warnings' }),
      el('ul', null, r.warnings.map(function (w) {
        return el('li', { 'class': 'w-' + w.kind, text: (r.totals.hops > 1 && w.hop > 0 ? 'hop ' + w.hop + ': ' : '') + w.text });
      }))]);
  }

  /** One row per hop of every run that had more than one hop or attempt: the figures `ballast run` prints per hop. */
  function hopsSection() {
    var many = RUNS.filter(function (r) { return r.totals.hops > 1 || r.totals.attempts > 1; });
    if (!many.length) return;
    var s = section('hops', 'Hops and attempts', 'A chain migrates the guest on, one hop per migration; a link failure ends an attempt and the '
      + 'hop is retried. Time, iterations and bytes count every attempt of the hop; downtime and setup are its last attempt\u2019s.');
    var head = (MULTI ? ['run'] : []).concat(['hop', 'outcome', 'time', 'downtime', 'setup', 'iterations', 'transferred', 'attempts', 'verify']);
    var rows = [];
    many.forEach(function (r) {
      r.hops.forEach(function (h) {
        var tries = h.attempts.map(function (a) {
          return a.attempt + '. ' + a.outcome.toLowerCase() + (a.cause ? ' (link: ' + a.cause + ')' : '') + ', ' + ms(a.timeMs) + ', ' + bytes(a.transferredBytes);
        }).join('; ');
        var v = h.verify ? (h.verify.mismatchedPages === 0 ? 'ok' : int(h.verify.mismatchedPages) + ' bad') : '\u2014';
        rows.push((MULTI ? [r.label] : []).concat([String(h.hop), h.outcome.toLowerCase(), ms(h.timeMs), ms(h.downtimeMs), ms(h.setupMs),
          String(h.iterations), bytes(h.transferredBytes), tries, v]));
      });
    });
    var tbl = table(head, rows, MULTI ? 1 : 0);
    tbl.querySelectorAll('tr').forEach(function (tr) { tr.children[tr.children.length - 2].className = 'text'; });
    s.appendChild(tbl);
  }

  function summaryTable() {
    var done = RUNS.every(function (r) { return r.totals.outcome === 'COMPLETED'; });
    var s = section('summary', 'Summary', 'One row per run; the best figure of a column is in bold. Pages are 4 KiB.'
      + (done ? ' Every migration completed.' : ''));
    function withShare(text, v, first) { return text + (RUNS.length > 1 && first > 0 ? '  (' + pct(v, first) + ')' : ''); }
    var cols = [
      ['run', function (r) { return runName(r); }, null, null],
      ['outcome', function (r) { return r.totals.outcome.toLowerCase(); }, null, 'text'],
      ['total (% of first)', function (r) { return withShare(ms(r.totals.timeMs), r.totals.timeMs, RUNS[0].totals.timeMs); }, function (r) { return r.totals.timeMs; }],
      ['downtime', function (r) { return ms(r.totals.downtimeMs); }, function (r) { return r.totals.downtimeMs; }],
      ['iterations', function (r) { return String(r.totals.iterations); }, function (r) { return r.totals.iterations; }],
      ['transferred (% of first)', function (r) { return withShare(bytes(r.totals.transferredBytes), r.totals.transferredBytes, RUNS[0].totals.transferredBytes); },
        function (r) { return r.totals.transferredBytes; }],
      ['with data', function (r) { return int(r.totals.normal); }, function (r) { return r.totals.normal; }],
      ['zero', function (r) { return int(r.totals.zero); }],
      ['skipped free', function (r) { return int(r.totals.skippedFree); }],
      ['skipped ballooned', function (r) { return int(r.totals.skippedBalloon); }],
      ['resent', function (r) { return int(r.totals.resent); }, function (r) { return r.totals.resent; }],
      ['verify', function (r) { return verifyText(r).text; }],
      ["seeds' figure", function (r) { return r.seeds.length ? r.seeds.map(function (f) { return (f.seedCase.approximate ? '~' : '') + ms(f.ms); }).join(', ') : '\u2014'; }]];
    if (RUNS.every(function (r) { return r.totals.outcome === 'COMPLETED'; })) cols = cols.filter(function (c) { return c[0] !== 'outcome'; });
    var head = el('tr', null, cols.map(function (c) { return el('th', { text: c[0], 'class': c[3] || '' }); }));
    var best = cols.map(function (c) {
      if (!c[2]) return null;
      return Math.min.apply(null, RUNS.map(c[2]));
    });
    var rows = RUNS.map(function (r, i) {
      return el('tr', null, cols.map(function (c, j) {
        var td = el('td', { text: c[1](r) });
        if (j === 0) td.insertBefore(el('span', { 'class': 'swatch', style: 'background:' + runColor(i) }), td.firstChild);
        if (c[3]) td.className = c[3];
        if (c[2] && RUNS.length > 1 && c[2](r) === best[j] && !RUNS.every(function (o) { return c[2](o) === best[j]; })) td.className = 'best';
        if (c[0] === 'verify') td.className = verifyText(r).cls;
        return td;
      }));
    });
    s.appendChild(el('div', { 'class': 'scroll' }, [el('table', null, [el('thead', null, [head]), el('tbody', null, rows)])]));
    RUNS.forEach(function (r) { var w = warningList(r, true); if (w) s.appendChild(w); });
    var seeds = RUNS.filter(function (r) { return r.seeds.length; });
    if (seeds.length) {
      s.appendChild(el('p', { 'class': 'note', text: "Seeds' figures: " + seeds.map(function (r) { return r.label + ': ' + seedText(r); }).join(' | ') }));
    }
  }

  // ------------------------------------------------------------------ time and bytes per run

  function overviewChart() {
    var s = section('time', 'Where the time went',
      'Each run\u2019s migration time by phase; the stop-and-copy is the guest\u2019s downtime. Right: bytes on the wire. '
      + "A diamond marks the seeds' figure for the same case.");
    var labels = RUNS.map(function (r) { return r.label; });
    var parts = PHASES.concat(['OTHER']);
    var byPhase = RUNS.map(function (r) {
      var m = {};
      r.phases.forEach(function (p) { m[p.name] = (m[p.name] || 0) + (p.endMs - p.startMs); });
      var known = sum(PHASES.map(function (p) { return m[p] || 0; }));
      m.OTHER = Math.max(0, r.totals.timeMs - known);
      if (m.OTHER < r.totals.timeMs * 0.001) m.OTHER = 0;
      return m;
    });
    var series = parts.map(function (p) {
      return {
        name: PHASE_LABELS[p], type: 'bar', stack: 'time', xAxisIndex: 0, yAxisIndex: 0, barMaxWidth: 26,
        itemStyle: { color: PHASE_COLORS[p] },
        data: byPhase.map(function (m) { return t(m[p] || 0); })
      };
    }).filter(function (sr) { return sr.data.some(function (v) { return v > 0; }); });
    var seedPoints = [];
    RUNS.forEach(function (r, i) {
      r.seeds.forEach(function (f) { seedPoints.push({ value: [t(f.ms), i], name: f.column + ', seed ' + f.seedCase.source }); });
    });
    if (seedPoints.length) {
      series.push({
        name: "seeds' figure", type: 'scatter', xAxisIndex: 0, yAxisIndex: 0, symbol: 'diamond', symbolSize: 13, z: 5,
        itemStyle: { color: '#1f2328', borderColor: '#fff', borderWidth: 1 }, data: seedPoints
      });
    }
    var maxBytes = Math.max.apply(null, RUNS.map(function (r) { return r.totals.transferredBytes; }));
    var bu = maxBytes >= Math.pow(2, 40) ? ['TiB', 40] : maxBytes >= Math.pow(2, 30) ? ['GiB', 30] : ['MiB', 20];
    series.push({
      name: 'transferred', type: 'bar', xAxisIndex: 1, yAxisIndex: 1, barMaxWidth: 26,
      label: { show: true, position: 'right', formatter: function (p) { return bytes(p.data.bytes); }, fontSize: 11 },
      data: RUNS.map(function (r, i) {
        return { value: r.totals.transferredBytes / Math.pow(2, bu[1]), bytes: r.totals.transferredBytes, itemStyle: { color: runColor(i) } };
      })
    });
    var height = 96 + 34 * RUNS.length;
    chart(s, height, {
      legend: { top: 0, left: 0, itemWidth: 12, itemHeight: 10, data: series.filter(function (x) { return x.name !== 'transferred'; }).map(function (x) { return x.name; }) },
      tooltip: {
        trigger: 'item', confine: true,
        formatter: function (p) {
          if (p.seriesType === 'scatter') return esc("seeds' figure (" + p.name + '): ') + '<b>' + esc(compact(p.value[0]) + ' ' + TUNIT) + '</b>';
          if (p.seriesName === 'transferred') return esc(p.name + ': ' + bytes(p.data.bytes));
          return esc(p.name + ', ' + p.seriesName + ': ') + '<b>' + esc(ms(SECONDS ? p.value * 1000 : p.value)) + '</b>';
        }
      },
      grid: [{ left: 20, right: '37%', top: 34, bottom: 32, containLabel: true }, { left: '67%', right: 70, top: 34, bottom: 32, containLabel: true }],
      xAxis: [
        { type: 'value', name: 'time (' + TUNIT + ')', nameLocation: 'middle', nameGap: 24, gridIndex: 0,
          axisLabel: { formatter: function (v) { return compact(v); } }, splitLine: { lineStyle: { color: '#eef0f3' } } },
        { type: 'value', name: 'sent (' + bu[0] + ')', nameLocation: 'middle', nameGap: 24, gridIndex: 1,
          axisLabel: { formatter: compact }, splitNumber: 4, splitLine: { lineStyle: { color: '#eef0f3' } } }],
      yAxis: [
        { type: 'category', data: labels, gridIndex: 0, inverse: true, axisTick: { show: false } },
        { type: 'category', data: labels, gridIndex: 1, inverse: true, axisTick: { show: false }, axisLabel: { show: false } }],
      series: series
    });
  }

  // ------------------------------------------------------------------ pages per pass

  function passLabel(r, p) {
    var name = p.phase === 'BULK' ? 'bulk' : p.phase === 'STOP_AND_COPY' ? 'final' : String(p.pass);
    return where(r, p) + (p.phase === 'ITERATE' ? 'pass ' + name : name);
  }

  function passesChart() {
    var s = section('passes', 'Pages per pass, by kind (4 KiB pages)',
      'Every pass over the migration bitmap: pages sent for the first time (with data or as zero), sent again because the guest wrote '
      + 'them after they were sent, and skipped because the guest said they were free or they were in the balloon.'
      + (MULTI ? ' One panel per run, on the same scale.' : ''));
    var fields = ['sent', 'zero', 'resent', 'skippedFree', 'skippedBalloon'];
    var n = RUNS.length;
    var cols = Math.min(n, 5), rows = Math.ceil(n / cols);
    var top = 34, rowH = MULTI ? 210 : 240, gap = 40;
    var maxStack = 1;
    RUNS.forEach(function (r) {
      r.passes.forEach(function (p) { maxStack = Math.max(maxStack, sum(fields.map(function (f) { return p[f]; }))); });
    });
    maxStack = niceCeil(maxStack);
    var grids = [], xAxes = [], yAxes = [], series = [], titles = [];
    RUNS.forEach(function (r, i) {
      var col = i % cols, row = Math.floor(i / cols);
      var left = (col * 100 / cols + 0.8) + '%', width = (100 / cols - 1.6) + '%';
      grids.push({ left: left, top: top + row * (rowH + gap) + (MULTI ? 24 : 0), width: width, height: rowH - 30, containLabel: true });
      if (MULTI) titles.push({ text: r.label, left: left, top: top + row * (rowH + gap), textStyle: { fontSize: 12.5, fontWeight: 600, color: runColor(i) } });
      var cats = r.passes.map(function (p) { return passLabel(r, p); });
      xAxes.push({ type: 'category', gridIndex: i, data: cats, axisTick: { show: false }, axisLabel: { fontSize: 11, interval: 'auto' } });
      yAxes.push({ type: 'value', gridIndex: i, max: maxStack, axisLabel: { show: i % cols === 0, formatter: compact, fontSize: 11 },
        splitLine: { lineStyle: { color: '#eef0f3' } } });
      fields.forEach(function (f, k) {
        series.push({
          name: KIND_LABELS[k], type: 'bar', stack: 'r' + i, xAxisIndex: i, yAxisIndex: i, barMaxWidth: 46,
          itemStyle: { color: KIND_COLORS[k] }, data: r.passes.map(function (p) { return p[f]; })
        });
      });
    });
    chart(s, top + rows * (rowH + gap) - gap + (MULTI ? 24 : 0), {
      title: titles,
      legend: { top: 0, left: 0, itemWidth: 12, itemHeight: 10, data: KIND_LABELS.slice(0, 5) },
      tooltip: {
        trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true,
        formatter: function (ps) {
          if (!ps.length) return '';
          var r = RUNS[ps[0].axisIndex !== undefined ? ps[0].axisIndex : 0] || RUNS[0];
          var p = r.passes[ps[0].dataIndex];
          var lines = [esc(r.label + ', ' + passLabel(r, p)) + ' \u2014 ' + esc(ms(p.endMs - p.startMs)) + (p.bytes >= 0 ? ', ' + esc(bytes(p.bytes)) : '')];
          ps.forEach(function (x) { if (x.value > 0) lines.push(x.marker + esc(x.seriesName) + ': <b>' + int(x.value) + '</b>'); });
          return lines.join('<br>');
        }
      },
      grid: grids, xAxis: xAxes, yAxis: yAxes, series: series
    });
  }

  // ------------------------------------------------------------------ over time

  function pendingChart() {
    var s = section('pending', 'Pages still to send',
      'The migration bitmap over time (the most it held in each interval): it fills at every dirty-log sync and drains as the pass walks it.'
      + (MULTI ? '' : ' Shaded: the phases; red: the guest paused.'));
    var box = el('input', { type: 'checkbox', checked: '' });
    s.appendChild(el('label', { 'class': 'toggle' }, [box, ' logarithmic scale']));
    function data(r, log) {
      return points(r, r.series.pendingMax, log ? function (v) { return v > 0 ? v : null; } : null);
    }
    var series = RUNS.map(function (r, i) {
      var sr = {
        name: runName(r), type: 'line', step: 'middle', showSymbol: false, connectNulls: false, lineStyle: runLine(r, i),
        itemStyle: { color: runColor(i) }, data: data(r, true)
      };
      if (!MULTI) { sr.areaStyle = { color: runColor(i), opacity: 0.15, origin: 'start' }; sr.markArea = phaseBands(r); }
      return withMarks(sr, r, i);
    });
    var c = chart(s, 300, {
      legend: MULTI ? { top: 0, left: 0 } : { show: false },
      tooltip: axisTooltip(function (v) { return v == null ? '0 pages' : int(v) + ' pages'; }),
      grid: { left: 8, right: 24, top: MULTI ? 44 : 26, bottom: 52, containLabel: true },
      xAxis: timeAxis(), yAxis: pagesAxis(true), dataZoom: zoom(), series: series
    });
    box.addEventListener('change', function () {
      c.setOption({ yAxis: pagesAxis(box.checked), series: RUNS.map(function (r) { return { data: data(r, box.checked) }; }) });
    });
  }

  function pagesAxis(log) {
    return { type: log ? 'log' : 'value', name: 'pages', min: log ? 1 : 0, axisLabel: { formatter: compact }, splitLine: { lineStyle: { color: '#eef0f3' } } };
  }

  function throughputChart() {
    var win = Math.max.apply(null, RUNS.map(function (r) { return r.series.rateWindowMs; }));
    var s = section('throughput', 'Throughput', 'Bytes on the wire as a rate: the bytes of each engine step count over the time they took '
      + '(from the engine\u2019s clock reading before them to the next), averaged over ' + ms(win) + '. Zero and poison pages cost only their '
      + 'short records.' + (RUNS.some(function (r) { return r.linkFailures.length; }) ? ' Dashed: a link failure.' : ''));
    var series = RUNS.map(function (r, i) {
      var sr = {
        name: runName(r), type: 'line', showSymbol: false, sampling: 'lttb', lineStyle: runLine(r, i),
        itemStyle: { color: runColor(i) }, data: points(r, r.series.gbps)
      };
      if (!MULTI) { sr.areaStyle = { color: runColor(i), opacity: 0.15 }; sr.markArea = phaseBands(r); }
      return withMarks(sr, r, i);
    });
    var limits = RUNS.map(function (r) { return r.settings.bandwidthBytesPerSec; }).filter(function (b) { return b > 0; });
    if (limits.length && limits.every(function (b) { return b === limits[0]; })) {
      series.push({ name: 'limit', type: 'line', data: [], silent: true, markLine: { silent: true, symbol: 'none', lineStyle: { color: '#8c959f', type: 'dotted' },
        label: { formatter: 'limit', position: 'insideEndTop', color: '#5f6b7a', fontSize: 11 }, data: [{ yAxis: limits[0] * 8 / 1e9 }] } });
    }
    chart(s, 280, {
      legend: MULTI ? { top: 0, left: 0, data: RUNS.map(runName) } : { show: false },
      tooltip: axisTooltip(function (v) { return v.toFixed(2) + ' Gbit/s'; }),
      grid: { left: 8, right: 24, top: MULTI ? 44 : 26, bottom: 52, containLabel: true },
      xAxis: timeAxis(), yAxis: { type: 'value', name: 'Gbit/s', splitLine: { lineStyle: { color: '#eef0f3' } } },
      dataZoom: zoom(), series: series
    });
  }

  function requestsChart() {
    var any = RUNS.some(function (r) { return sum(r.series.hintedPages) + sum(r.series.freedPages) + sum(r.series.balloonPages) > 0; });
    if (!any) return;
    // its own time axis: from the start to just after the guest's last hint or balloon message, not the whole run
    var until = Math.min(MAX_MS, Math.max(MAX_MS * 0.1, Math.max.apply(null, RUNS.map(function (r) { return r.series.requestsEndMs; })) * 1.08));
    var s = section('requests', 'Free page hints and balloon over time',
      'Running totals of the pages the guest reported free (hints or a free page bitmap) and of those the reports cleared from the '
      + 'migration bitmap; and the pages in the balloon.' + (MULTI ? '' : ' Shaded: the phases; red: the guest paused.')
      + (until < MAX_MS * 0.95 ? ' The time axis ends just after the last message (' + ms(until) + ' of ' + ms(MAX_MS) + ').' : ''));
    var metrics = [
      ['hintedPages', 'hinted free', 'solid', '#4e79a7', true], ['freedPages', 'cleared as free', 'dashed', '#59a14f', true],
      ['balloonPages', 'in the balloon', 'dotted', '#b07aa1', false]];
    var series = [];
    RUNS.forEach(function (r, i) {
      metrics.forEach(function (m) {
        var values = r.series[m[0]];
        if (sum(values) === 0) return;
        var running = 0, line = m[4] ? values.map(function (v) { running += v; return running; }) : values;
        var color = MULTI ? runColor(i) : m[3];
        series.push({
          name: (MULTI ? runName(r) + ': ' : '') + m[1], type: 'line', step: 'end', showSymbol: false,
          lineStyle: { color: color, type: MULTI ? m[2] : 'solid', width: r.identicalTo ? 3.2 : 1.8, opacity: r.identicalTo ? 0.55 : 1 },
          itemStyle: { color: color },
          data: [[0, m[4] ? 0 : line[0]]].concat(line.map(function (v, k) { return [t((k + 1) * r.series.bucketMs), v]; }))
        });
      });
    });
    if (!MULTI && series.length) series[0].markArea = phaseBands(RUNS[0]);
    chart(s, 280, {
      legend: { top: 0, left: 0, type: 'scroll' },
      tooltip: axisTooltip(function (v) { return int(v) + ' pages'; }),
      grid: { left: 8, right: 24, top: 48, bottom: 52, containLabel: true },
      xAxis: Object.assign(timeAxis(), { max: t(until) }), yAxis: { type: 'value', name: 'pages', axisLabel: { formatter: compact }, splitLine: { lineStyle: { color: '#eef0f3' } } },
      dataZoom: zoom(), series: series
    });
  }

  function faultsChart() {
    var any = RUNS.some(function (r) { return r.series.faultsServed && sum(r.series.faultsServed) + sum(r.series.faultsZero) > 0; });
    if (!any) return;
    var s = section('faults', 'Postcopy faults over time',
      'After the switch-over the guest runs on the destination and stalls on each page it lacks until the page arrives. '
      + 'Each fault counts at the time it was raised: the mean and the longest wait for its page in each interval, and how many faults there were '
      + '(bars; faults on ballooned pages that the destination placed as zero itself apart, as they wait for nothing).'
      + (MULTI ? '' : ' Shaded: the phases; red: the guest paused.'));
    var series = [];
    RUNS.forEach(function (r, i) {
      var pre = MULTI ? runName(r) + ': ' : '';
      var nonzero = function (v) { return v > 0 ? v : null; };
      // faults come in bursts: an interval on its own is a point, not a line
      series.push({ name: pre + 'mean wait', type: 'line', showSymbol: true, symbolSize: 5, connectNulls: false, yAxisIndex: 0,
        lineStyle: { color: MULTI ? runColor(i) : '#e15759', width: 1.8 }, itemStyle: { color: MULTI ? runColor(i) : '#e15759' },
        data: points(r, r.series.faultLatencyMeanMs, nonzero) });
      series.push({ name: pre + 'longest wait', type: 'line', showSymbol: true, symbol: 'triangle', symbolSize: 5, connectNulls: false, yAxisIndex: 0,
        lineStyle: { color: MULTI ? runColor(i) : '#f28e2b', width: 1.2, type: 'dashed' }, itemStyle: { color: MULTI ? runColor(i) : '#f28e2b' },
        data: points(r, r.series.faultLatencyMaxMs, nonzero) });
      series.push({ name: pre + 'faults', type: 'bar', yAxisIndex: 1, barGap: 0, itemStyle: { color: MULTI ? runColor(i) : '#4e79a7', opacity: 0.35 },
        data: points(r, r.series.faultsServed) });
      if (sum(r.series.faultsZero) > 0) {
        series.push({ name: pre + 'placed as zero', type: 'bar', yAxisIndex: 1, barGap: 0, itemStyle: { color: '#b07aa1', opacity: 0.35 },
          data: points(r, r.series.faultsZero) });
      }
    });
    if (!MULTI && series.length) series[0].markArea = phaseBands(RUNS[0]);
    chart(s, 300, {
      legend: { top: 0, left: 0, type: 'scroll' },
      tooltip: { trigger: 'axis', confine: true },
      grid: { left: 8, right: 24, top: 48, bottom: 52, containLabel: true },
      xAxis: timeAxis(),
      yAxis: [{ type: 'value', name: 'wait (ms)', min: 0, splitLine: { lineStyle: { color: '#eef0f3' } } },
        { type: 'value', name: 'faults', min: 0, axisLabel: { formatter: compact }, splitLine: { show: false } }],
      dataZoom: zoom(), series: series
    });
  }

  // ------------------------------------------------------------------ memory map

  function memorySection() {
    var s = section('memory', 'Guest memory',
      'Guest-physical memory from address 0, one cell per ' + MAP_ROW_NOTE() + ', coloured by what happened to most of its pages in the '
      + 'last migration (hover a cell for its share). Rows of ' + 64 + ' cells; the hole between RAM blocks is not RAM.');
    var legend = el('div', { 'class': 'legend' });
    KIND_LABELS.forEach(function (k, i) { legend.appendChild(el('span', { style: '--swatch:' + KIND_COLORS[i], text: k })); });
    legend.appendChild(el('span', { style: '--swatch:' + HOLE_COLOR, text: 'hole (not RAM)' }));
    s.appendChild(legend);
    var grid = el('div', { 'class': MULTI ? 'maps' : '' });
    s.appendChild(grid);
    // lay every box out first, so each map is sized to its final column
    var boxes = RUNS.map(function (r, i) {
      var box = el('div');
      grid.appendChild(box);
      if (MULTI) box.appendChild(el('h3', { text: r.label, style: 'color:' + runColor(i) }));
      return box;
    });
    RUNS.forEach(function (r, i) {
      var box = boxes[i];
      memoryMap(box, r);
      var lines = r.memory.regions.filter(function (g) { return !g.hole; }).map(function (g) {
        var total = sum(g.pages);
        var parts = g.pages.map(function (n, k) { return n > 0 ? KIND_LABELS[k] + ' ' + pct(n, total) : null; }).filter(Boolean);
        return el('div', null, [el('b', { text: g.name }), ' ' + addressText(g.firstPfn) + ' \u2013 ' + addressText(g.firstPfn + g.pageCount)
          + ' (' + bytes(g.pageCount * 4096) + ', cells of ' + bytes(g.cellPages * 4096) + '): ' + parts.join(', ')]);
      });
      if (r.totals.attempts > 1) {
        lines.push(el('div', { text: 'Shows the last attempt' + (r.totals.hops > 1 ? ' of the last hop (hop ' + r.memory.hop + ', attempt ' + r.memory.attempt + ')'
          : ' (attempt ' + r.memory.attempt + ')') + '.' }));
      }
      box.appendChild(el('div', { 'class': 'regions' }, lines));
    });
  }

  function MAP_ROW_NOTE() {
    var sizes = {};
    RUNS.forEach(function (r) { r.memory.regions.forEach(function (g) { if (!g.hole) sizes[bytes(g.cellPages * 4096)] = true; }); });
    var k = Object.keys(sizes);
    return k.length === 1 ? k[0] : 'few MiB (the size depends on the block)';
  }

  function memoryMap(parent, r) {
    var COLS = 64;
    var width = parent.clientWidth || 600;
    var left = 124;
    var cell = Math.max(4, Math.min(14, (width - left - 12) / COLS));
    var rowH = Math.max(cell, 11);
    var labelEvery = Math.ceil(16 / rowH) * 2;
    var rows = [], data = [], rowInfo = [];
    r.memory.regions.forEach(function (g) {
      if (g.hole) {
        var y = rows.length;
        rows.push('hole');
        rowInfo.push({ region: g, first: 0 });
        for (var x = 0; x < COLS; x++) data.push([x, y, HOLE, 100]);
        return;
      }
      var n = g.cells.length;
      var nrows = Math.ceil(n / COLS);
      for (var k = 0; k < nrows; k++) {
        var label = k === 0 ? g.name + '  ' + addressText(g.firstPfn) : (k % labelEvery === 0 && k < nrows - 1 ? addressText(g.firstPfn + k * COLS * g.cellPages) : '');
        rows.push(label);
        rowInfo.push({ region: g, first: k * COLS });
      }
      var base = rows.length - nrows;
      for (var c = 0; c < n; c++) data.push([c % COLS, base + Math.floor(c / COLS), g.cells.charCodeAt(c) - 48, g.shares[c]]);
    });
    var height = Math.round(rows.length * rowH) + 10;
    var pieces = KINDS.map(function (k, i) { return { value: i, label: KIND_LABELS[i], color: KIND_COLORS[i] }; });
    pieces.push({ value: HOLE, label: 'hole', color: HOLE_COLOR });
    chart(parent, height, {
      tooltip: {
        confine: true,
        formatter: function (p) {
          var v = p.value, info = rowInfo[v[1]], g = info.region;
          if (g.hole) return esc('hole: ' + addressText(g.firstPfn) + ' \u2013 ' + addressText(g.firstPfn + g.pageCount) + ', not RAM');
          var idx = info.first + v[0];
          var from = g.firstPfn + idx * g.cellPages, to = Math.min(g.firstPfn + g.pageCount, from + g.cellPages);
          return '<b>' + esc(g.name) + '</b> ' + esc(addressText(from) + ' \u2013 ' + addressText(to))
            + '<br>PFN 0x' + from.toString(16) + ' \u2013 0x' + (to - 1).toString(16)
            + '<br><span style="color:' + KIND_COLORS[v[2]] + '">\u25a0</span> ' + esc(KIND_LABELS[v[2]]) + ': <b>' + v[3] + '%</b> of its pages';
        }
      },
      grid: { left: left, right: 12, top: 4, bottom: 4 },
      xAxis: { type: 'category', data: Array.from({ length: COLS }, function (_, i) { return i; }), show: false },
      yAxis: {
        type: 'category', data: rows, inverse: true, axisTick: { show: false }, axisLine: { show: false },
        axisLabel: { interval: 0, fontSize: 10.5, color: '#5f6b7a', formatter: function (v) { return v; } }
      },
      visualMap: { type: 'piecewise', show: false, dimension: 2, pieces: pieces },
      series: [{
        type: 'heatmap', data: data, progressive: 0,
        itemStyle: { borderColor: '#ffffff', borderWidth: cell >= 7 ? 0.6 : 0 },
        emphasis: { itemStyle: { borderColor: '#1f2328', borderWidth: 1 } }
      }]
    });
  }

  // ------------------------------------------------------------------ tables

  function passTable(r) {
    var head = ['pass', 'phase', 'start', 'length', 'with data', 'zero', 'resent', 'skipped free', 'skipped balloon', 'bytes'];
    var rows = r.passes.map(function (p) {
      return [passLabel(r, p), p.phase.toLowerCase().replace(/_/g, '-'), ms(p.startMs), ms(p.endMs - p.startMs), int(p.sent), int(p.zero),
        int(p.resent), int(p.skippedFree), int(p.skippedBalloon), p.bytes >= 0 ? bytes(p.bytes) : '\u2014'];
    });
    return table(head, rows, 2);
  }

  function checkTable(r) {
    var head = ['after pass', 'time', 'left to send', 'bandwidth', 'decision'];
    return table(head, r.checks.map(function (c) {
      return [where(r, c) + c.pass, ms(c.timeMs), bytes(c.remainingBytes),
        (c.bandwidthBytesPerSec * 8 / 1e9).toFixed(2) + ' Gbit/s', c.decision.toLowerCase().replace(/_/g, ' ')];
    }));
  }

  function table(head, rows, textColumns) {
    var n = textColumns || 1;
    function cls(j) { return j < n ? 'text' : ''; }
    return el('div', { 'class': 'scroll' }, [el('table', null, [
      el('thead', null, [el('tr', null, head.map(function (h, j) { return el('th', { text: h, 'class': cls(j) }); }))]),
      el('tbody', null, rows.map(function (row) { return el('tr', null, row.map(function (c, j) { return el('td', { text: c, 'class': cls(j) }); })); }))])]);
  }

  function settingsTable(r) {
    var S = r.settings, T = r.totals;
    var left = [
      ['backend', S.backend], ['workload', S.workload], ['policy', S.policy], ['seed', String(S.seed)],
      ['guest memory', bytes(S.guestMemBytes)], ['layout', S.layout],
      ['bandwidth limit', S.bandwidthBytesPerSec > 0 ? (S.bandwidthBytesPerSec * 8 / 1e9).toFixed(2) + ' Gbit/s' : 'none'],
      ['downtime limit', ms(S.downtimeLimitMs)], ['passes at most', String(S.maxIterations)],
      ['time cap', S.timeCapMs > 0 ? ms(S.timeCapMs) : 'none'], ['page header', S.pageHeaderBytes + ' B']];
    var right = [
      ['guest features', [S.mustTellHost ? 'must-tell-host' : 'no must-tell-host', S.freePageHint ? 'free page hints' : null,
        S.freeBitmap ? 'free page bitmap' : null, S.poisonByte ? 'poison 0x' + S.poisonByte.toString(16) : 'no poisoning'].filter(Boolean).join(', ')],
      ['cost profile', S.costProfile + ', link ' + (S.linkBitsPerSec / 1e9).toFixed(1) + ' Gbit/s'],
      ['events', int(T.events)], ['hops and attempts', T.hops + (T.hops === 1 ? ' hop, ' : ' hops, ') + T.attempts + (T.attempts === 1 ? ' attempt' : ' attempts')
        + (T.linkFailures ? ', ' + T.linkFailures + ' link failure' + (T.linkFailures === 1 ? '' : 's') : '')],
      ['hint requests', int(T.hintRequests) + ' (' + int(T.hintRanges) + ' ranges, ' + int(T.hintPages) + ' pages)'],
      ['balloon', int(T.balloonAtStart) + ' pages at start, ' + int(T.inflated) + ' inflated, ' + int(T.deflated) + ' deflated'],
      ['rejected requests', int(T.rejected)],
      ['verify', r.verify ? int(r.verify.checkedPages) + ' checked, ' + int(r.verify.mismatchedPages) + ' mismatched'
        + (r.verify.firstBadPage >= 0 ? ', first bad page index ' + r.verify.firstBadPage : '') : 'no check in the events'],
      ["seeds' figure", seedText(r) || 'no seed measured this case']];
    function tbl(rows) {
      return el('table', null, [el('tbody', null, rows.map(function (x) { return el('tr', null, [el('td', { text: x[0] }), el('td', { 'class': 'text', text: x[1] })]); }))]);
    }
    return el('div', { 'class': 'settings' }, [tbl(left), tbl(right)]);
  }

  function detailsSection() {
    var s = section('details', MULTI ? 'Runs in detail' : 'Settings and passes', null);
    RUNS.forEach(function (r, i) {
      var d = el('details', MULTI ? null : { open: '' }, [el('summary', { text: (MULTI ? r.label + ': ' : '') + 'settings' })]);
      d.appendChild(settingsTable(r));
      s.appendChild(d);
      var p = el('details', MULTI ? null : { open: '' }, [el('summary', { text: (MULTI ? r.label + ': ' : '') + r.passes.length + ' passes, ' + r.checks.length + ' convergence checks' })]);
      p.appendChild(passTable(r));
      if (r.checks.length) p.appendChild(checkTable(r));
      s.appendChild(p);
    });
  }

  function footer() {
    document.getElementById('report').appendChild(el('footer', {
      text: 'Made by ballast report from the runs\u2019 events alone. Times are ' + (RUNS[0].settings.backend === 'sim' ? 'the simulator\u2019s virtual clock' : 'wall clock')
        + '. Charts: ' + D.chartLibrary + ' (Apache License 2.0), inlined.'
    }));
  }

  // ------------------------------------------------------------------ the page

  try {
    header();
    if (MULTI) summaryTable(); else cards(RUNS[0]);
    hopsSection();
    overviewChart();
    passesChart();
    pendingChart();
    throughputChart();
    requestsChart();
    faultsChart();
    memorySection();
    detailsSection();
    footer();
  } catch (e) {
    status.errors.push(String(e && e.stack || e));
    throw e;
  } finally {
    status.built = true;
    check();
  }

  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 100);
  });
})();
