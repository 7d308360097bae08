/**
 * The workflow page's timeline: a Gantt of its steps over time, from what the store says (each
 * checkpoint's successful attempt's start and its commit), so it works for the runs of any process.
 * Waits (timers, events, backoffs between runs) are the gaps between bars; a retried step says how
 * many attempts it took and what the last failed one threw; the failed step is a mark where the
 * run ended; a waiting step's bar is dashed up to when it is due.
 *
 * Part of the page script (lib/dashboard/page-script.ts): it uses the script's `el`, `timeEl`,
 * `plural` and `localTimes`.
 */
export const TIMELINE_SCRIPT = String.raw`
  function durationText(ms) {
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + ' s';
    if (ms < 3600000) return Math.round(ms / 60000) + ' min';
    if (ms < 86400000) return (ms / 3600000).toFixed(1) + ' h';
    return (ms / 86400000).toFixed(1) + ' d';
  }

  function timeline(view) {
    var start = Date.parse(view.createdAt);
    if (isNaN(start)) return null;
    var byName = {};
    view.steps.forEach(function (s) { byName[s.name] = s; });
    var ended = view.status === 'completed' || view.status === 'failed' || view.status === 'cancelled' || view.status === 'compensated';
    var times = [Date.parse(view.updatedAt) || start];
    if (!ended) times.push(Date.now());
    view.steps.forEach(function (s) {
      if (s.committedAt) times.push(Date.parse(s.committedAt));
      if (s.waitsUntil) times.push(Date.parse(s.waitsUntil));
    });
    var end = Math.max.apply(Math, times);
    var span = Math.max(end - start, 1);
    function at(ms) { return Math.min(100, Math.max(0, ((ms - start) / span) * 100)); }
    // Where a step could start: when the last of its dependencies committed (the workflow's start for a root).
    function readyAt(s) {
      var ready = start;
      s.after.forEach(function (name) { var d = byName[name]; if (d && d.committedAt) ready = Math.max(ready, Date.parse(d.committedAt)); });
      return ready;
    }
    function bar(kind, from, to, title) {
      var node = el('span', { className: 'bar ' + kind, title: title });
      node.style.left = at(from) + '%';
      node.style.width = Math.max(at(to) - at(from), 0.4) + '%';
      return node;
    }
    var rows = view.steps.map(function (s) {
      var marks = [];
      var note = '';
      if (s.startedAt && s.committedAt) {
        var from = Date.parse(s.startedAt), to = Date.parse(s.committedAt);
        var waited = from - readyAt(s);
        marks.push(bar('state-' + s.state, from, to, s.name + ': started ' + s.startedAt + ', committed ' + s.committedAt + (waited > 0 ? ', after waiting ' + durationText(waited) : '')));
        note = durationText(to - from);
      } else if (s.committedAt) {
        var c = Date.parse(s.committedAt);
        marks.push(bar('tick state-' + s.state, c, c, s.name + ': ' + s.state + ' ' + s.committedAt));
        note = s.state;
      } else if (s.state === 'failed' && view.updatedAt) {
        var f = Date.parse(view.updatedAt);
        marks.push(bar('tick state-failed', f, f, s.name + ': failed ' + view.updatedAt));
        note = 'failed';
      } else if (s.state === 'waiting') {
        var due = s.waitsUntil ? Date.parse(s.waitsUntil) : end;
        marks.push(bar('wait state-waiting', readyAt(s), due, s.name + ': waiting' + (s.waitsUntil ? ' until ' + s.waitsUntil : ' for an event')));
        note = s.waitsUntil ? 'waits until ' + localTimes(s.waitsUntil) : 'waits for an event';
      } else note = s.state === 'running' ? 'running' : 'not run';
      var retries = s.attempts > 1 ? plural(s.attempts, 'attempt', 'attempts') + (s.lastFailure ? '; the one before failed: ' + s.lastFailure.code + ': ' + s.lastFailure.message : '') : '';
      return el('li', { 'data-step': s.name, 'data-state': s.state }, [
        el('span', { className: 'name', text: s.name }),
        el('span', { className: 'track' }, marks),
        el('span', { className: 'took' }, [note, retries ? el('span', { className: 'muted retries', text: ' (' + retries + ')' }) : null])
      ]);
    });
    return el('section', { id: 'timeline', 'aria-labelledby': 'timeline-title' }, [
      el('h2', { id: 'timeline-title', text: 'Timeline' }),
      el('p', { className: 'muted' }, ['From ', timeEl(view.createdAt), ' to ', timeEl(new Date(end).toISOString()), ': ' + durationText(span) + '. Each bar is a step\u2019s successful attempt; the gaps are waits (timers, events, retries, a worker to come).']),
      el('ol', { className: 'timeline' }, rows)
    ]);
  }
`;
