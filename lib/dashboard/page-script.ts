/**
 * The page's script, served as it is (no build step, nothing fetched from elsewhere): it reads the
 * token from the URL's fragment, draws the list or a workflow from the dashboard's JSON API, and
 * refreshes while it looks. Plain DOM calls only; every value is set as text, never as HTML.
 */
import { BULK_SCRIPT } from './page-bulk';
import { TIMELINE_SCRIPT } from './page-timeline';
export const PAGE_SCRIPT = String.raw`(function () {
  'use strict';
  var base = document.body.getAttribute('data-base') || '';
  var main = document.getElementById('main');
  var TOKEN_KEY = 'waymark-token:' + location.host + base;
  var STATUSES = ['running', 'waiting', 'completed', 'failed', 'cancelled', 'compensating', 'compensated', 'corrupted'];
  var STATES = [
    ['committed', 'committed'], ['restored', 'restored'], ['skipped', 'skipped'], ['running', 'running'], ['waiting', 'waiting'],
    ['failed', 'failed'], ['compensated', 'compensated'], ['not-run', 'not run']
  ];
  var timer = null;

  var fromUrl = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, decodeURIComponent(fromUrl[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }

  function token() { return localStorage.getItem(TOKEN_KEY) || ''; }

  function el(tag, props, children) {
    var node = document.createElement(tag);
    setProps(node, props);
    append(node, children);
    return node;
  }
  function svg(tag, attrs, children) {
    var node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    append(node, children);
    return node;
  }
  function setProps(node, props) {
    Object.keys(props || {}).forEach(function (k) {
      var v = props[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'text') node.textContent = String(v);
      else if (k.indexOf('on') === 0) node.addEventListener(k.slice(2), v);
      else if (k === 'value') node.value = v;
      else node.setAttribute(k === 'className' ? 'class' : k, v === true ? '' : String(v));
    });
  }
  function append(node, children) {
    (Array.isArray(children) ? children : children === undefined ? [] : [children]).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
  }

  function api(method, path, body) {
    var init = { method: method, headers: { 'x-waymark-token': token() } };
    if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(base + '/api/workflows' + path, init).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) {
          var error = new Error(data && data.error ? data.error.message : response.statusText);
          error.code = data && data.error ? data.error.code : 'HTTP_' + response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function when(iso) {
    if (!iso) return '-';
    var d = new Date(iso);
    // One time zone on the page: the viewer's, named; UTC on hover (title).
    return isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { timeZoneName: 'short' });
  }
  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }
  // Times inside the server's sentences ("waits until …") in the page's one time zone too.
  function localTimes(text) { return text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, function (iso) { return when(iso); }); }
  function age(iso, now) {
    if (!iso) return '-';
    var s = Math.max(0, Math.round((Date.parse(now) - Date.parse(iso)) / 1000));
    if (s < 60) return '< 1 min';
    if (s < 3600) return Math.round(s / 60) + ' min';
    if (s < 86400) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' d';
  }
  function badge(status) { return el('span', { className: 'badge s-' + status, text: status }); }
  function timeEl(iso) { return iso ? el('time', { datetime: iso, title: iso, text: when(iso) }) : '-'; }

  function tokenForm(message) {
    stopTimer();
    main.replaceChildren(
      el('h1', { text: 'Token needed' }),
      el('p', { text: message }),
      el('form', { className: 'filters', onsubmit: function (e) {
        e.preventDefault();
        localStorage.setItem(TOKEN_KEY, e.target.elements.token.value.trim());
        route();
      } }, [
        el('label', {}, ['Dashboard token', el('input', { name: 'token', autocomplete: 'off', required: true, size: 32 })]),
        el('button', { className: 'primary', type: 'submit', text: 'Use token' })
      ])
    );
  }
  function failed(error) {
    if (error.code === 'WAYMARK_DASHBOARD_TOKEN') return tokenForm('Open the URL that waymark ui printed, or paste its token here.');
    main.replaceChildren(el('h1', { text: 'Could not load' }), el('p', { className: 'message error', role: 'alert', text: error.code + ': ' + error.message }), el('p', {}, el('a', { href: base + '/', text: 'All workflows' })));
  }
  // A refresh redraws only what changed, and gives the keyboard focus back to the element that had it
  // (each focusable element carries a data-key), so a keyboard user is never sent back to the top.
  var drawn = new WeakMap();
  function redraw(container, data, draw) {
    var text = JSON.stringify(data);
    if (drawn.get(container) === text) return;
    var focused = document.activeElement && container.contains(document.activeElement) && document.activeElement.closest('[data-key]');
    var key = focused ? focused.getAttribute('data-key') : null;
    draw();
    drawn.set(container, text);
    if (key === null) return;
    var again = Array.prototype.filter.call(container.querySelectorAll('[data-key]'), function (e) { return e.getAttribute('data-key') === key; })[0];
    if (again) again.focus({ preventScroll: true });
  }
  function stopTimer() { if (timer) { clearTimeout(timer); timer = null; } }
  function every(ms, fn) {
    stopTimer();
    timer = setTimeout(function tick() {
      if (document.hidden) { timer = setTimeout(tick, ms); return; }
      fn().then(function () { timer = setTimeout(tick, ms); }, function () { timer = setTimeout(tick, ms * 4); });
    }, ms);
  }

  // ---------- the list ----------
  function listPage() {
    var query = new URLSearchParams(location.search);
    document.title = 'Workflows · waymark';
    var statusSelect = el('select', { name: 'status', id: 'filter-status' }, [el('option', { value: '', text: 'any' })].concat(STATUSES.map(function (s) { return el('option', { value: s, text: s }); })));
    statusSelect.value = query.get('status') || '';
    var form = el('form', { className: 'filters', role: 'search', 'aria-label': 'Filter workflows', onsubmit: function (e) {
      e.preventDefault();
      var next = new URLSearchParams();
      ['status', 'name', 'id'].forEach(function (k) { var v = form.elements[k].value.trim(); if (v) next.set(k, v); });
      history.pushState(null, '', base + '/' + (next.toString() ? '?' + next.toString() : ''));
      route();
    } }, [
      el('label', { for: 'filter-status' }, ['Status', statusSelect]),
      el('label', {}, ['Workflow name', el('input', { name: 'name', value: query.get('name') || '', placeholder: 'e.g. order' })]),
      el('label', {}, ['Workflow id starts with', el('input', { name: 'id', type: 'search', value: query.get('id') || '', placeholder: 'e.g. order-42' })]),
      el('button', { className: 'primary', type: 'submit', text: 'Filter' })
    ]);
    var results = el('div', { id: 'results', 'aria-live': 'polite' }, el('p', { className: 'muted', text: 'Loading…' }));
    var versions = el('section', { id: 'versions', 'aria-labelledby': 'versions-title' });
    // The checked rows, kept across the list's refreshes.
    var selected = {};
    var bulk = bulkPanel(query, selected, function () { drawn.delete(results); load(); });
    main.replaceChildren(el('h1', { text: 'Workflows' }), versions, form, results, bulk.node);
    api('GET', '?view=versions').then(function (counts) { drawVersions(versions, counts); }, function () { versions.replaceChildren(); });
    var params = new URLSearchParams();
    ['status', 'name', 'id', 'cursor'].forEach(function (k) { if (query.get(k)) params.set(k, query.get(k)); });
    params.set('limit', '50');
    function load() {
      return api('GET', '?' + params.toString()).then(function (page) {
        // The page's own clock moves on every answer; what is shown is the rest.
        redraw(results, { items: page.items, cursor: page.cursor, minute: page.now.slice(0, 16) }, function () { drawList(results, page, query, selected, bulk.update); });
      });
    }
    load().then(function () { every(5000, load); }, failed);
  }

${BULK_SCRIPT}
  function drawList(results, page, query, selected, selectionChanged) {
    var rows = page.items.map(function (w) {
      var href = base + '/workflows/' + encodeURIComponent(w.workflowId);
      return el('tr', { 'data-workflow-id': w.workflowId }, [
        el('td', {}, el('input', { type: 'checkbox', className: 'select', 'aria-label': 'Select ' + w.workflowId, 'data-key': 'select:' + w.workflowId, checked: selected[w.workflowId] === true, onchange: function (e) {
          if (e.target.checked) selected[w.workflowId] = true; else delete selected[w.workflowId];
          selectionChanged();
        } })),
        el('td', { className: 'id' }, el('a', { href: href, text: w.workflowId, 'data-key': 'workflow:' + w.workflowId })),
        el('td', {}, [w.workflowName ? w.workflowName + '@' + (w.version || 1) : '-', w.stranded ? el('div', { className: 'muted stranded', text: 'stranded: no ' + w.stranded.missing }) : null]),
        el('td', {}, [badge(w.status), (w.status === 'running' || w.status === 'compensating') && !w.lease ? el('div', { className: 'muted', text: 'interrupted: no run holds it' }) : null]),
        el('td', { className: 'nowrap', text: age(w.createdAt, page.now) }),
        el('td', { className: 'nowrap' }, timeEl(w.updatedAt)),
        el('td', { className: 'nowrap' }, timeEl(w.wakeAt)),
        el('td', { text: w.waitingFor && w.waitingFor.length ? w.waitingFor.join(', ') : '-' }),
        el('td', { text: w.error ? w.error.code + (w.error.step ? ' in ' + w.error.step : '') + ': ' + w.error.message : '-' })
      ]);
    });
    var table = rows.length === 0
      ? el('p', { className: 'muted', text: page.cursor ? 'None in this stretch of the store; go on to look further.' : 'No workflow matches.' })
      : el('div', { className: 'table-wrap' }, el('table', {}, [
        el('caption', { className: 'visually-hidden', text: 'Workflows' }),
        el('thead', {}, el('tr', {}, [el('th', { scope: 'col' }, el('input', { type: 'checkbox', 'aria-label': 'Select every workflow on this page', 'data-key': 'select-page', onchange: function (e) {
          page.items.forEach(function (w) { if (e.target.checked) selected[w.workflowId] = true; else delete selected[w.workflowId]; });
          results.querySelectorAll('input.select').forEach(function (box) { box.checked = e.target.checked; });
          selectionChanged();
        } }))].concat(['Workflow id', 'Name', 'Status', 'Age', 'Updated', 'Wakes at', 'Awaiting', 'Last error'].map(function (h) { return el('th', { scope: 'col', text: h }); })))),
        el('tbody', {}, rows)
      ]));
    var pager = el('nav', { className: 'pager', 'aria-label': 'Pages' }, [
      query.get('cursor') ? el('a', { href: withQuery(query, null), text: 'First page' }) : null,
      page.cursor ? el('a', { href: withQuery(query, page.cursor), rel: 'next', text: 'Next page' }) : null,
      el('span', { className: 'muted', text: rows.length + ' shown' })
    ]);
    results.replaceChildren(table, pager);
  }
  function drawVersions(section, counts) {
    // Only worth a table once some workflow has more than one version, or a run is stranded.
    var names = {};
    counts.versions.forEach(function (v) { names[v.workflowName] = (names[v.workflowName] || 0) + 1; });
    var shown = counts.versions.filter(function (v) { return names[v.workflowName] > 1 || v.stranded > 0; });
    if (shown.length === 0) { section.replaceChildren(); return; }
    section.replaceChildren(
      el('h2', { id: 'versions-title', text: 'Versions' }),
      el('table', { className: 'versions' }, [
        el('thead', {}, el('tr', {}, ['Workflow', 'Version', 'Unfinished', 'Stranded', 'Runs'].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
        el('tbody', {}, shown.map(function (v) {
          return el('tr', { 'data-version': v.workflowName + '@' + v.version }, [
            el('td', { text: v.workflowName }), el('td', { text: String(v.version) }), el('td', { text: String(v.unfinished) }),
            el('td', { className: v.stranded > 0 ? 'error' : '', text: v.stranded > 0 ? v.stranded + ' (no worker has ' + v.workflowName + '@' + v.version + ')' : '0' }),
            el('td', { text: Object.keys(v.statuses).map(function (s) { return s + ' ' + v.statuses[s]; }).join(', ') })
          ]);
        }))
      ]),
      counts.complete ? null : el('p', { className: 'muted', text: 'Counted the first ' + counts.examined + ' workflows.' })
    );
  }

  function withQuery(query, cursor) {
    var next = new URLSearchParams(query);
    if (cursor) next.set('cursor', cursor); else next.delete('cursor');
    return base + '/' + (next.toString() ? '?' + next.toString() : '');
  }

  // ---------- one workflow ----------
  var expanded = {};
  var fullOutputs = {};

  function workflowPage(workflowId) {
    document.title = workflowId + ' · waymark';
    expanded = {}; fullOutputs = {};
    var data = el('div', { id: 'workflow' }, el('p', { className: 'muted', text: 'Loading…' }));
    var message = el('p', { className: 'message', id: 'action-message', role: 'status' });
    var actions = actionPanel(workflowId, message);
    main.replaceChildren(
      el('p', {}, el('a', { href: base + '/', text: '← All workflows' })),
      data,
      el('h2', { id: 'actions-title', text: 'Actions' }),
      message,
      actions.node
    );
    var last = null;
    function load() {
      return api('GET', '/' + encodeURIComponent(workflowId)).then(function (view) {
        last = view;
        redraw(data, view, function () { drawWorkflow(data, view); });
        actions.update(view);
      });
    }
    load().then(function () {
      every(1000, function () {
        return load().catch(function (error) {
          if (error.code === 'WAYMARK_WORKFLOW_NOT_FOUND') { data.replaceChildren(el('p', { className: 'notice', text: 'This workflow is no longer stored.' })); actions.update(null); stopTimer(); }
          throw error;
        });
      });
    }, failed);
    return last;
  }

  function drawWorkflow(container, view) {
    var parts = [];
    parts.push(el('h1', {}, [view.workflowId + ' ', badge(view.status)]));
    if (view.interrupted) parts.push(el('p', { className: 'notice', role: 'note', text: 'Interrupted: the workflow is ' + view.status + ' but no run holds its lease, so the run that had it stopped. A worker on this store, or a resume, finishes it; committed steps do not run again.' }));
    if (view.error) parts.push(el('p', { className: 'notice error', text: 'Failed' + (view.error.step ? ' in step ' + view.error.step : '') + (view.error.attempts ? ' after ' + plural(view.error.attempts, 'attempt', 'attempts') : '') + ': ' + view.error.code + ': ' + view.error.message }));
    // The stack, collapsed: open it to read where it was thrown (and its causes).
    if (view.error && view.error.stack) parts.push(el('details', { className: 'stack', 'data-key': 'stack' }, [el('summary', { text: 'Stack trace' }), el('pre', { text: view.error.stack })]));
    if (view.stranded) parts.push(el('p', { className: 'notice error', role: 'note', 'data-key': 'stranded', text: 'Stranded: ' + view.stranded.by + ' was asked to run it at ' + when(view.stranded.at) + ' and has no ' + view.stranded.missing + '. Nothing ran and nothing failed; deploy that version beside the new one, or move it to a newer version.' }));
    var summary = [
      ['Workflow', view.workflowName || '-'], ['Version', String(view.version || 1)], ['Status', view.status], ['Created', timeEl(view.createdAt)], ['Updated', timeEl(view.updatedAt)]
    ];
    (view.history || []).forEach(function (h) {
      summary.push(['History', when(h.at) + ': ' + (h.kind === 'migrated' ? 'moved from version ' + h.from + ' to ' + h.to : 'restarted, ' + ((h.discarded || []).join(', ') || 'nothing committed') + ' run again') + (h.status ? ' (was ' + h.status + ')' : '')]);
    });
    if (view.status === 'waiting') {
      summary.push(['Wakes at', view.wakeAt ? timeEl(view.wakeAt) : 'only for an event']);
      summary.push(['Waiting for', view.waitingFor && view.waitingFor.length ? view.waitingFor.join(', ') : 'only timers']);
    }
    summary.push(['Lease', view.lease ? 'held by ' + view.lease.owner + ' until ' + when(view.lease.expiresAt) : 'free (no run holds it)']);
    if (view.parent) summary.push(['Parent', el('span', {}, [el('a', { href: base + '/workflows/' + encodeURIComponent(view.parent.workflowId), 'data-key': 'parent', text: view.parent.workflowId }), ' (step ' + view.parent.step + ', child ' + view.parent.index + ')'])]);
    if (view.compensation) {
      var done = Object.keys(view.compensation.done);
      summary.push(['Compensation', done.length + ' undone' + (view.compensation.errors && view.compensation.errors.length ? '; failed: ' + view.compensation.errors.map(function (e) { return e.step + ' (' + e.code + ')'; }).join(', ') : '')]);
    }
    parts.push(el('dl', { className: 'summary' }, [].concat.apply([], summary.map(function (row) { return [el('dt', { text: row[0] }), el('dd', {}, row[1])]; }))));

    parts.push(el('h2', { id: 'graph-title', text: 'Steps' }));
    parts.push(el('div', { className: 'graph-wrap' }, drawGraph(view)));
    parts.push(el('ul', { className: 'legend', 'aria-label': 'Step states' }, STATES.map(function (s) { return el('li', { className: 'badge state-' + s[0], text: s[1] }); })));
    parts.push(stepTable(view));
    var line = timeline(view);
    if (line) parts.push(line);

    if (view.children && view.children.length) {
      var counts = {};
      view.children.forEach(function (c) { var s = c.status || 'unknown'; counts[s] = (counts[s] || 0) + 1; });
      parts.push(el('h2', { id: 'children-title', text: 'Child workflows' }));
      parts.push(el('p', { className: 'muted', text: view.children.length + ' started: ' + Object.keys(counts).map(function (s) { return counts[s] + ' ' + s; }).join(', ') }));
      parts.push(el('table', { className: 'children', 'aria-labelledby': 'children-title' }, [
        el('thead', {}, el('tr', {}, ['Step', '#', 'Workflow id', 'Workflow', 'Status'].map(function (h) { return el('th', { text: h }); }))),
        el('tbody', {}, view.children.slice(0, 200).map(function (c) {
          return el('tr', {}, [el('td', { text: c.step }), el('td', { text: String(c.index) }), el('td', { className: 'id' }, el('a', { href: base + '/workflows/' + encodeURIComponent(c.workflowId), 'data-key': 'child:' + c.workflowId, text: c.workflowId })), el('td', { text: c.workflowName }), el('td', {}, c.status ? badge(c.status) : '-')]);
        }))
      ]));
    }
    parts.push(el('h2', { text: 'Input' }));
    if (view.ignoredInput === null) parts.push(el('p', { className: 'muted', text: 'Which fields the fingerprint ignores is shown where the dashboard knows the workflow class (createDashboard in the app that registers it).' }));
    else if (view.ignoredInput.length > 0) parts.push(el('p', { className: 'muted', text: 'Struck-through fields are ignored by the input fingerprint: changing them is not an input change.' }));
    parts.push(el('div', { className: 'json', id: 'input' }, el('pre', {}, view.input === null ? 'undefined (none stored)' : valueLines(view.input, view.ignoredInput || []))));
    if (view.output) {
      parts.push(el('h2', { text: 'Output' }));
      parts.push(el('div', { className: 'json' }, el('pre', { text: view.output.text + (view.output.truncated ? '\n…' : '') })));
    }
    parts.push(el('h2', { text: 'Mailbox' }));
    parts.push(view.events.length === 0 ? el('p', { className: 'muted', text: 'No events sent to this workflow.' }) : el('div', { className: 'table-wrap' }, el('table', { id: 'mailbox' }, [
      el('thead', {}, el('tr', {}, ['Event', 'Sent', 'Consumed by', 'Event id', 'Payload'].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
      el('tbody', {}, view.events.map(function (e) {
        return el('tr', {}, [el('td', { text: e.name }), el('td', {}, timeEl(e.sentAt)), el('td', { text: e.consumedBy || 'not yet' }), el('td', { className: 'id', text: e.eventId }), el('td', {}, el('pre', { text: e.payload.text + (e.payload.truncated ? '\n…' : '') }))]);
      }))
    ])));
    container.replaceChildren.apply(container, parts);
  }

  function drawGraph(view) {
    var layout = view.layout;
    var byName = {};
    view.steps.forEach(function (s) { byName[s.name] = s; });
    var edges = layout.edges.map(function (e) {
      var d = e.points.map(function (p, i) { return (i === 0 ? 'M' : 'L') + p.x.toFixed(1) + ' ' + p.y.toFixed(1); }).join(' ');
      return svg('path', { 'class': 'edge', d: d, 'marker-end': 'url(#arrow)' });
    });
    var nodes = layout.nodes.map(function (n) {
      var step = byName[n.name];
      var label = STATES.filter(function (s) { return s[0] === step.state; })[0][1];
      var x = n.x - n.width / 2, y = n.y - n.height / 2;
      var counts = itemCounts(step);
      var stateText = label + (step.when ? ' \u00b7 if' : '') + (step.forEach ? ' \u00b7 ' + (step.items ? step.items.committed + '/' + step.items.total : 'each') : '');
      // A fan-out is drawn stacked: one step, many items.
      var stack = step.forEach ? [6, 3].map(function (d) { return svg('rect', { 'class': 'stack', x: x + d, y: y - d, width: n.width, height: n.height, rx: 8 }); }) : [];
      return svg('a', { href: '#step-' + encodeURIComponent(n.name), 'data-key': 'node:' + n.name, 'aria-label': n.name + ': ' + label + (step.when ? ', a branch' : '') + (step.forEach ? ', a fan-out' + (counts ? ' (' + counts + ')' : '') : '') + (step.detail ? ' (' + localTimes(step.detail) + ')' : '') }, svg('g', { 'class': 'node state-' + step.state + (step.when ? ' branch' : '') + (step.forEach ? ' fan-out' : ''), 'data-step': n.name, 'data-state': step.state }, stack.concat([
        svg('title', {}, document.createTextNode(n.name + ': ' + label + (step.condition ? '\nif ' + step.condition : '') + (step.forEachText ? '\n' + step.forEachText : '') + (counts ? '\n' + counts : '') + (step.detail ? '\n' + localTimes(step.detail) : ''))),
        svg('rect', { 'class': 'back', x: x, y: y, width: n.width, height: n.height, rx: 8 }),
        svg('rect', { 'class': 'face', x: x, y: y, width: n.width, height: n.height, rx: 8 }),
        svg('text', { x: n.x, y: n.y - 4 }, document.createTextNode(n.name)),
        svg('text', { 'class': 'state', x: n.x, y: n.y + 15 }, document.createTextNode(stateText))
      ])));
    });
    return svg('svg', { 'class': 'graph', role: 'group', 'aria-labelledby': 'graph-title', width: layout.width, height: layout.height, viewBox: '0 0 ' + layout.width + ' ' + layout.height }, [
      svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { 'class': 'arrow', d: 'M0 0 L10 5 L0 10 z' })))
    ].concat(edges, nodes));
  }

  /** A fan-out's progress in words, or '' for any other step (and a fan-out whose list is not committed yet). */
  function itemCounts(step) {
    var items = step.items;
    if (!items) return '';
    return items.committed + ' of ' + plural(items.total, 'item', 'items') + ' committed' + (items.failed ? ', ' + items.failed + ' failed' : '') + (items.remaining ? ', ' + items.remaining + ' to go' : '');
  }

${TIMELINE_SCRIPT}
  function stepTable(view) {
    return el('div', { className: 'table-wrap' }, el('table', { id: 'steps' }, [
      el('thead', {}, el('tr', {}, ['Step', 'State', 'Attempts', 'Committed', 'Took', 'Output'].map(function (h) { return el('th', { scope: 'col', text: h }); }))),
      el('tbody', {}, view.steps.map(function (s) {
        var label = STATES.filter(function (x) { return x[0] === s.state; })[0][1];
        return el('tr', { id: 'step-' + encodeURIComponent(s.name), 'data-step': s.name }, [
          el('th', { scope: 'row' }, [s.name, s.when ? el('div', { className: 'muted', text: s.condition ? 'if ' + s.condition : 'branch (when)' }) : null, s.forEach ? el('div', { className: 'muted', text: s.forEachText || 'fan-out (forEach)' }) : null]),
          el('td', {}, [el('span', { className: 'badge state-' + s.state, text: label }), itemCounts(s) ? el('div', { className: 'muted items', text: itemCounts(s) }) : null, s.detail ? el('div', { className: 'muted', text: localTimes(s.detail) }) : null, s.compensatedAt ? el('div', { className: 'muted', text: 'compensated ' + when(s.compensatedAt) }) : null]),
          el('td', {}, [String(s.attempts), s.lastFailure ? el('div', { className: 'muted', text: 'the one before failed: ' + s.lastFailure.code + ': ' + s.lastFailure.message }) : null]),
          el('td', {}, timeEl(s.committedAt)),
          el('td', { text: s.durationMs === undefined ? '-' : s.durationMs + ' ms' }),
          el('td', {}, s.output ? outputCell(view.workflowId, s) : '-')
        ]);
      }))
    ]));
  }

  function outputCell(workflowId, step) {
    var full = fullOutputs[step.name];
    var text = full !== undefined ? full : step.output.text;
    var details = el('details', { open: expanded[step.name] === true, ontoggle: function () { expanded[step.name] = details.open; } }, [
      el('summary', { text: plural(step.output.length, 'character', 'characters'), 'data-key': 'output:' + step.name }),
      el('pre', { text: text }),
      step.output.truncated && full === undefined ? el('button', { type: 'button', 'data-key': 'more:' + step.name, text: 'Show all ' + plural(step.output.length, 'character', 'characters'), onclick: function () {
        api('GET', '/' + encodeURIComponent(workflowId) + '/steps/' + encodeURIComponent(step.name) + '/output').then(function (whole) {
          fullOutputs[step.name] = whole.text;
          details.querySelector('pre').textContent = whole.text;
          this.remove();
        }.bind(this), failed);
      } }) : null
    ]);
    return details;
  }

  function valueLines(lines, ignored) {
    var out = [];
    lines.forEach(function (line) {
      if (line.path !== undefined && ignored.indexOf(line.path) >= 0) {
        var text = line.text.replace(/^ */, '');
        out.push(line.text.slice(0, line.text.length - text.length));
        out.push(el('span', { className: 'ignored', 'data-path': line.path, text: text }));
        out.push(el('span', { className: 'ignored-tag', text: 'ignored by fingerprint' }));
        out.push('\n');
      } else out.push(line.text + '\n');
    });
    return out;
  }

  function actionPanel(workflowId, message) {
    function report(text, isError) {
      message.textContent = text;
      message.className = 'message' + (isError ? ' error' : '');
    }
    var events = el('datalist', { id: 'awaited-events' });
    var send = el('form', { 'aria-labelledby': 'send-title', onsubmit: function (e) {
      e.preventDefault();
      var payloadText = send.elements.payload.value.trim();
      var payload;
      try { payload = payloadText === '' ? undefined : JSON.parse(payloadText); } catch (error) { report('The payload is not JSON: ' + error.message, true); return; }
      var name = send.elements.event.value.trim();
      api('POST', '/' + encodeURIComponent(workflowId) + '/events', { event: name, payload: payload }).then(function (sent) {
        report(sent.duplicate ? 'Duplicate: event ' + sent.eventId + ' was stored already.' : 'Sent ' + name + ' (event id ' + sent.eventId + ').', false);
      }, function (error) { report(error.code + ': ' + error.message, true); });
    } }, [
      el('h3', { id: 'send-title', text: 'Send an event' }),
      el('label', {}, ['Event name', el('input', { name: 'event', required: true, list: 'awaited-events', autocomplete: 'off' })]),
      events,
      el('label', {}, ['Payload (JSON, optional)', el('textarea', { name: 'payload', rows: 3 })]),
      el('button', { className: 'primary', type: 'submit', text: 'Send event' })
    ]);
    var resumeNote = el('p', { className: 'muted' });
    var resumeButton = el('button', { type: 'button', text: 'Resume now', onclick: function () {
      api('POST', '/' + encodeURIComponent(workflowId) + '/resume', {}).then(function (done) { report(done.requested ? 'Resume requested: the next worker that has its class runs it.' : 'Resumed: a run started in the dashboard\'s process.', false); }, function (error) { report(error.code + ': ' + error.message, true); });
    } });
    var resume = el('section', { 'aria-labelledby': 'resume-title' }, [el('h3', { id: 'resume-title', text: 'Resume' }), resumeNote, resumeButton]);
    var cancelConfirm = el('input', { name: 'cancel-confirm', autocomplete: 'off', spellcheck: 'false', oninput: function () { cancelButton.disabled = cancelConfirm.value !== workflowId; } });
    var cancelReason = el('input', { name: 'reason', autocomplete: 'off', maxLength: 1000 });
    var cancelButton = el('button', { className: 'danger', type: 'submit', disabled: true, text: 'Cancel this workflow' });
    var cancelNote = el('p', { className: 'muted' });
    var cancel = el('form', { className: 'danger-zone', 'aria-labelledby': 'cancel-title', onsubmit: function (e) {
      e.preventDefault();
      api('POST', '/' + encodeURIComponent(workflowId) + '/cancel', { confirm: cancelConfirm.value, reason: cancelReason.value }).then(function (done) {
        var said = { cancelled: 'Cancelled: it never runs again.', compensating: 'Cancelled: it is compensating; a worker undoes its committed steps.', requested: 'Cancel requested: the run holding it stops within one lease renewal.', ended: 'Not cancelled: it had ended (' + done.status + ').' };
        report(said[done.outcome], done.outcome === 'ended');
        cancelConfirm.value = '';
        cancelButton.disabled = true;
      }, function (error) { report(error.code + ': ' + error.message, true); });
    } }, [
      el('h3', { id: 'cancel-title', text: 'Cancel' }),
      cancelNote,
      el('label', {}, ['Reason (optional)', cancelReason]),
      el('label', {}, ['Workflow id, to confirm the cancel', cancelConfirm]),
      cancelButton
    ]);
    var confirmInput = el('input', { name: 'confirm', autocomplete: 'off', spellcheck: 'false', oninput: function () { clearButton.disabled = confirmInput.value !== workflowId; } });
    var clearButton = el('button', { className: 'danger', type: 'submit', disabled: true, text: 'Clear this workflow' });
    var clear = el('form', { className: 'danger-zone', 'aria-labelledby': 'clear-title', onsubmit: function (e) {
      e.preventDefault();
      api('POST', '/' + encodeURIComponent(workflowId) + '/clear', { confirm: confirmInput.value }).then(function (done) {
        stopTimer();
        report(done.cleared ? 'Cleared ' + workflowId + ' (' + plural(done.checkpoints, 'checkpoint', 'checkpoints') + ').' : 'Nothing was stored under ' + workflowId + '.', false);
        // Nothing is left to act on: every form goes quiet, this one too.
        disableAll();
        document.getElementById('workflow').replaceChildren(el('p', { className: 'notice', text: 'Cleared. ' }, el('a', { href: base + '/', text: 'Back to all workflows' })));
      }, function (error) { report(error.code + ': ' + error.message, true); });
    } }, [
      el('h3', { id: 'clear-title', text: 'Clear' }),
      el('p', { className: 'muted', text: 'Deletes its record, checkpoints and events under its lease (refused while a run holds it). Its committed steps would run again.' }),
      el('label', {}, ['Type the workflow id to confirm', confirmInput]),
      clearButton
    ]);
    var restartStep = el('select', { name: 'from', id: 'restart-from' });
    var restartConfirm = el('input', { name: 'restart-confirm', autocomplete: 'off', spellcheck: 'false', oninput: function () { restartButton.disabled = restartConfirm.value !== workflowId; } });
    var restartButton = el('button', { className: 'danger', type: 'submit', disabled: true, text: 'Run again from this step' });
    var restart = el('form', { className: 'danger-zone', 'aria-labelledby': 'restart-title', onsubmit: function (e) {
      e.preventDefault();
      api('POST', '/' + encodeURIComponent(workflowId) + '/restart', { confirm: restartConfirm.value, from: restartStep.value }).then(function (done) {
        report('Restarted: ' + done.rerun.join(', ') + ' run again' + (done.discarded.length ? ' (the commits of ' + done.discarded.join(', ') + ' discarded)' : '') + '; a worker runs them.', false);
        restartConfirm.value = '';
        restartButton.disabled = true;
      }, function (error) { report(error.code + ': ' + error.message, true); });
    } }, [
      el('h3', { id: 'restart-title', text: 'Run again from a step' }),
      el('p', { className: 'muted', text: 'The step and every step after it run again with the stored input; the others keep their commits. Their compensations are not called: steps run at least once, so keep them idempotent.' }),
      el('label', { for: 'restart-from' }, ['Step', restartStep]),
      el('label', {}, ['Workflow id, to confirm the restart', restartConfirm]),
      restartButton
    ]);
    var migrateTo = 0;
    var migrateNote = el('p', { className: 'muted' });
    var migrateConfirm = el('input', { name: 'migrate-confirm', autocomplete: 'off', spellcheck: 'false', oninput: function () { migrateButton.disabled = migrateConfirm.value !== workflowId; } });
    var migrateButton = el('button', { className: 'danger', type: 'submit', disabled: true, text: 'Move to the new version' });
    var migrate = el('form', { className: 'danger-zone', hidden: true, 'aria-labelledby': 'migrate-title', onsubmit: function (e) {
      e.preventDefault();
      api('POST', '/' + encodeURIComponent(workflowId) + '/migrate', { confirm: migrateConfirm.value, to: migrateTo }).then(function (done) {
        report('Moved to version ' + done.to + '.', false);
        migrateConfirm.value = '';
        migrateButton.disabled = true;
      }, function (error) { report(error.code + ': ' + error.message, true); });
    } }, [
      el('h3', { id: 'migrate-title', text: 'Move to a new version' }),
      migrateNote,
      el('label', {}, ['Workflow id, to confirm the move', migrateConfirm]),
      migrateButton
    ]);
    var forms = [send, resume, migrate, restart, cancel, clear];
    function disableAll() { forms.forEach(function (f) { f.querySelectorAll('button, input, textarea, select').forEach(function (c) { c.disabled = true; }); }); }
    return {
      node: el('div', { className: 'actions', 'aria-labelledby': 'actions-title' }, forms),
      update: function (view) {
        if (view === null) { disableAll(); return; }
        events.replaceChildren.apply(events, (view.waitingFor || []).map(function (n) { return el('option', { value: n }); }));
        var chosen = restartStep.value;
        restartStep.replaceChildren.apply(restartStep, view.steps.map(function (st) { return el('option', { value: st.name, text: st.name }); }));
        if (chosen) restartStep.value = chosen;
        var undone = view.status === 'cancelled' || view.status === 'compensated' || view.status === 'compensating';
        restartStep.disabled = undone || !!view.lease;
        restartConfirm.disabled = undone || !!view.lease;
        if (undone || view.lease) restartButton.disabled = true;
        var m = view.migration;
        migrate.hidden = !m;
        if (m) {
          migrateTo = m.to;
          migrateButton.textContent = 'Move to version ' + m.to;
          migrateConfirm.disabled = !!m.refused;
          if (m.refused) migrateButton.disabled = true;
          var renamed = m.plan ? Object.keys(m.plan.renamed).map(function (k) { return k + ' → ' + m.plan.renamed[k]; }) : [];
          migrateNote.textContent = m.refused ? 'Version ' + m.to + ' is registered here, but this run cannot move: ' + m.refused.join('; ') + '.'
            : 'From version ' + (view.version || 1) + ' to ' + m.to + ': ' + [m.plan.kept.length ? 'keeps ' + m.plan.kept.join(', ') : '', renamed.length ? 'renames ' + renamed.join(', ') : '', m.plan.dropped.length ? 'forgets ' + m.plan.dropped.join(', ') : '', m.plan.converted.length ? 'converts the output of ' + m.plan.converted.join(', ') : '', m.plan.toRun.length ? 'runs ' + m.plan.toRun.join(', ') : ''].filter(Boolean).join('; ') + '. Checked again when you confirm.';
        }
        var finished = view.status === 'completed' || view.status === 'compensated';
        resumeButton.disabled = finished || view.status === 'cancelled' || !!view.lease;
        var over = finished || view.status === 'cancelled';
        cancelConfirm.disabled = over;
        if (over) cancelButton.disabled = true;
        cancelNote.textContent = over ? 'It has ended; nothing to cancel.' : view.lease ? 'A run holds it: it stops within one lease renewal, and nothing it does after commits.' : 'It never runs again (a fresh start excepted); one that declares compensations undoes its committed steps first.';
        resumeNote.textContent = finished || view.status === 'cancelled' ? 'It has ended; nothing to resume.' : view.lease ? 'A run holds its lease now.'
          : !view.canResume ? 'Asks for a run: stored, and the next worker that has its class runs it (a failed step is tried again); committed steps are skipped.'
          : 'Runs it from its stored input in the dashboard\'s process; committed steps are skipped.';
      }
    };
  }

  function route() {
    stopTimer();
    var path = location.pathname.slice(base.length);
    var match = /^\/workflows\/(.+)$/.exec(path);
    if (match) workflowPage(decodeURIComponent(match[1]));
    else listPage();
    main.focus({ preventScroll: true });
  }
  window.addEventListener('popstate', route);
  route();
})();
`;
