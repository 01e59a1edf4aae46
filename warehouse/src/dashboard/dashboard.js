/* global Chart, document, location, URLSearchParams, fetch, setTimeout, clearTimeout */
// Fetches the reports and redraws the charts every few seconds. Values are
// inserted as text (never as HTML): report rows carry visitor input.
(function () {
  'use strict';
  var refreshMs = Number(document.body.dataset.refreshMs) || 5000;
  var params = new URLSearchParams(location.search);
  if (params.get('refresh')) refreshMs = Math.max(1000, Number(params.get('refresh')) || refreshMs);
  var siteInput = document.getElementById('site');
  var rangeSelect = document.getElementById('range');
  var statusEl = document.getElementById('status');
  if (params.get('site')) siteInput.value = params.get('site');
  if (params.get('range')) rangeSelect.value = params.get('range');

  var palette = ['#2f6fed', '#f08a24', '#2bb673', '#d64545', '#8e59d9', '#18a6b8', '#b8860b'];
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function chart(id, type, options) {
    return new Chart(document.getElementById(id), { type: type, data: { labels: [], datasets: [] }, options: options || {} });
  }
  var charts = {
    traffic: chart('traffic-chart', 'line', { interaction: { mode: 'index', intersect: false }, scales: { y: { beginAtZero: true } } }),
    searches: chart('searches-chart', 'bar', {
      indexAxis: 'y',
      plugins: { legend: { display: true } },
      scales: { x: { beginAtZero: true } },
    }),
    scroll: chart('scroll-chart', 'bar', { scales: { y: { beginAtZero: true } } }),
    lift: chart('lift-chart', 'bar', {
      scales: {
        y: {
          beginAtZero: true,
          ticks: {
            callback: function (v) {
              return (v * 100).toFixed(1) + '%';
            },
          },
        },
      },
    }),
  };

  function query(extra) {
    var q = new URLSearchParams({ since: rangeSelect.value });
    if (siteInput.value.trim()) q.set('site', siteInput.value.trim());
    Object.keys(extra || {}).forEach(function (k) {
      q.set(k, extra[k]);
    });
    return q.toString();
  }
  function load(name, extra) {
    return fetch('/v1/reports/' + name + '?' + query(extra), { cache: 'no-store' }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(name + ': ' + ((body.error && body.error.message) || r.status));
        return body.rows;
      });
    });
  }
  function set(c, labels, datasets) {
    c.data.labels = labels;
    c.data.datasets = datasets;
    c.update();
  }
  function table(el, columns, rows) {
    el.textContent = '';
    if (!rows.length) {
      var p = document.createElement('p');
      p.className = 'empty';
      p.textContent = 'No data in this range yet';
      el.appendChild(p);
      return;
    }
    var t = document.createElement('table');
    var head = t.createTHead().insertRow();
    columns.forEach(function (c) {
      var th = document.createElement('th');
      th.textContent = c.title;
      if (c.num) th.className = 'num';
      head.appendChild(th);
    });
    var body = t.createTBody();
    rows.forEach(function (row) {
      var tr = body.insertRow();
      columns.forEach(function (c) {
        var td = tr.insertCell();
        var v = row[c.key];
        td.textContent = v === null || v === undefined ? '–' : c.pct ? (v * 100).toFixed(1) + '%' : String(v);
        if (c.num) td.className = 'num';
      });
    });
    el.appendChild(t);
  }

  function refresh() {
    return Promise.all([
      load('active-visitors').then(function (rows) {
        set(
          charts.traffic,
          rows.map(function (r) {
            return r.time.slice(5, 16);
          }),
          [
            {
              label: 'visitors',
              data: rows.map(function (r) {
                return r.visitors;
              }),
              borderColor: palette[0],
              backgroundColor: palette[0],
              tension: 0.25,
            },
            {
              label: 'sessions',
              data: rows.map(function (r) {
                return r.sessions;
              }),
              borderColor: palette[1],
              backgroundColor: palette[1],
              tension: 0.25,
            },
            {
              label: 'page views',
              data: rows.map(function (r) {
                return r.page_views;
              }),
              borderColor: palette[2],
              backgroundColor: palette[2],
              tension: 0.25,
            },
          ],
        );
      }),
      load('top-searches', { limit: 10 }).then(function (rows) {
        set(
          charts.searches,
          rows.map(function (r) {
            return r.keyword;
          }),
          [
            {
              label: 'searches',
              data: rows.map(function (r) {
                return r.searches;
              }),
              backgroundColor: palette[0],
            },
            {
              label: 'visitors',
              data: rows.map(function (r) {
                return r.visitors;
              }),
              backgroundColor: palette[1],
            },
          ],
        );
      }),
      load('scroll-depth', { limit: 5 }).then(function (rows) {
        var pages = [];
        rows.forEach(function (r) {
          if (pages.indexOf(r.page) < 0) pages.push(r.page);
        });
        var depths = [0, 25, 50, 75, 100];
        set(
          charts.scroll,
          depths.map(function (d) {
            return d + '%';
          }),
          pages.map(function (p, i) {
            return {
              label: p || '(no path)',
              backgroundColor: palette[i % palette.length],
              data: depths.map(function (d) {
                var hit = rows.find(function (r) {
                  return r.page === p && r.depth_pct === d;
                });
                return hit ? hit.scrolls : 0;
              }),
            };
          }),
        );
      }),
      load('promotion-lift').then(function (rows) {
        set(
          charts.lift,
          rows.map(function (r) {
            return r.variant;
          }),
          [
            {
              label: 'click-through rate',
              data: rows.map(function (r) {
                return r.ctr || 0;
              }),
              backgroundColor: rows.map(function (r) {
                return r.variant === 'personalized' ? palette[2] : palette[0];
              }),
            },
          ],
        );
        var p = rows.find(function (r) {
          return r.variant === 'personalized';
        });
        document.getElementById('lift-note').textContent =
          p && p.lift !== null
            ? 'Personalized CTR is ' + (p.lift >= 0 ? '+' : '') + (p.lift * 100).toFixed(1) + '% vs default'
            : 'Lift appears once both variants have impressions and clicks';
      }),
      load('content-gaps', { limit: 10 }).then(function (rows) {
        table(
          document.getElementById('gaps-table'),
          [
            { key: 'keyword', title: 'keyword' },
            { key: 'searches', title: 'searches', num: true },
            { key: 'searches_without_click', title: 'no click', num: true },
            { key: 'no_click_rate', title: 'rate', num: true, pct: true },
          ],
          rows,
        );
      }),
      load('top-clicks', { limit: 10 }).then(function (rows) {
        table(
          document.getElementById('clicks-table'),
          [
            { key: 'kind', title: 'kind' },
            { key: 'target', title: 'target' },
            { key: 'clicks', title: 'clicks', num: true },
            { key: 'visitors', title: 'visitors', num: true },
          ],
          rows,
        );
      }),
    ]).then(
      function () {
        statusEl.className = '';
        statusEl.textContent = 'updated ' + new Date().toLocaleTimeString() + ' · every ' + Math.round(refreshMs / 1000) + ' s';
        document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
      },
      function (err) {
        statusEl.className = 'error';
        statusEl.textContent = String(err.message || err);
      },
    );
  }

  var timer = null;
  function loop() {
    clearTimeout(timer);
    refresh().finally(function () {
      timer = setTimeout(loop, refreshMs);
    });
  }
  siteInput.addEventListener('change', loop);
  rangeSelect.addEventListener('change', loop);
  loop();
})();
