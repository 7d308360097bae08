/**
 * The list's bulk actions: a checkbox per row (and one for the page), or "every workflow that
 * matches this filter"; then resume, cancel or restart from a step. The panel first asks the
 * dashboard how many workflows that is (a dry run), shows the count and the first ids, and acts only
 * once that count is typed back. What it did, and which workflows it could not act on, is said after.
 *
 * Part of the page script (lib/dashboard/page-script.ts): it uses the script's `el`, `api` and `plural`.
 */
export const BULK_SCRIPT = String.raw`
  function bulkPanel(query, selected, afterAction) {
    var scope = 'selected';
    var preview = null;
    var message = el('p', { id: 'bulk-message', className: 'message', role: 'status' });
    var actionSelect = el('select', { name: 'bulk-action', id: 'bulk-action' }, [
      el('option', { value: 'resume', text: 'Resume (a worker runs it; a failed step is tried again)' }),
      el('option', { value: 'cancel', text: 'Cancel' }),
      el('option', { value: 'restart', text: 'Run again from a step' })
    ]);
    var fromInput = el('input', { name: 'bulk-from', id: 'bulk-from', autocomplete: 'off', placeholder: 'step name', disabled: true });
    var count = el('span', { id: 'bulk-count', className: 'muted' });
    var allButton = el('button', { type: 'button', className: 'link', 'data-key': 'bulk-all' });
    var previewButton = el('button', { type: 'button', id: 'bulk-preview', text: 'Review' });
    var confirmInput = el('input', { name: 'bulk-confirm', id: 'bulk-confirm', autocomplete: 'off', inputmode: 'numeric', disabled: true });
    var goButton = el('button', { type: 'submit', className: 'danger', id: 'bulk-go', disabled: true, text: 'Act' });
    var summary = el('p', { id: 'bulk-summary', className: 'muted' });
    var filter = {};
    ['status', 'name', 'id'].forEach(function (k) { if (query.get(k)) filter[k] = query.get(k); });
    var filtered = Object.keys(filter).length > 0;

    function target() {
      return scope === 'filter' ? { filter: filter } : { ids: Object.keys(selected) };
    }
    function request(extra) {
      var body = Object.assign({ action: actionSelect.value }, target(), extra);
      if (actionSelect.value === 'restart') body.from = fromInput.value.trim();
      return body;
    }
    function reset() {
      preview = null;
      confirmInput.value = '';
      confirmInput.disabled = true;
      goButton.disabled = true;
      goButton.textContent = 'Act';
      summary.textContent = '';
    }
    function update() {
      var n = Object.keys(selected).length;
      count.textContent = scope === 'filter' ? 'every workflow that matches this filter' : plural(n, 'workflow', 'workflows') + ' selected';
      allButton.hidden = !filtered;
      allButton.textContent = scope === 'filter' ? 'Only the ones selected' : 'Select every workflow that matches';
      previewButton.disabled = scope === 'selected' && n === 0;
      fromInput.disabled = actionSelect.value !== 'restart';
      reset();
    }
    allButton.addEventListener('click', function () { scope = scope === 'filter' ? 'selected' : 'filter'; update(); });
    actionSelect.addEventListener('change', update);
    fromInput.addEventListener('input', reset);
    previewButton.addEventListener('click', function () {
      message.textContent = '';
      api('POST', '/bulk', request({ dryRun: true })).then(function (p) {
        preview = p;
        var verb = { resume: 'resume', cancel: 'cancel', restart: 'run again from ' + fromInput.value.trim() }[p.action];
        summary.textContent = p.count === 0 ? 'No workflow to act on.' : 'This will ' + verb + ' ' + plural(p.count, 'workflow', 'workflows') + ': ' + p.ids.join(', ') + (p.count > p.ids.length ? ', and ' + (p.count - p.ids.length) + ' more' : '') + '. Type ' + p.count + ' to confirm.';
        confirmInput.disabled = p.count === 0;
        goButton.textContent = p.action === 'resume' ? 'Resume ' + p.count : p.action === 'cancel' ? 'Cancel ' + p.count : 'Run ' + p.count + ' again';
      }, function (error) { message.className = 'message error'; message.textContent = error.code + ': ' + error.message; });
    });
    confirmInput.addEventListener('input', function () { goButton.disabled = preview === null || confirmInput.value.trim() !== String(preview.count); });
    var form = el('form', { className: 'bulk danger-zone', 'aria-labelledby': 'bulk-title', onsubmit: function (e) {
      e.preventDefault();
      if (preview === null) return;
      goButton.disabled = true;
      api('POST', '/bulk', request({ confirm: Number(confirmInput.value.trim()) })).then(function (done) {
        var verb = { resume: 'Asked to resume', cancel: 'Cancelled', restart: 'Restarted' }[done.action];
        message.className = 'message' + (done.failed ? ' error' : '');
        message.textContent = verb + ' ' + done.done + ' of ' + plural(done.count, 'workflow', 'workflows') + (done.failed ? '; ' + done.failed + ' could not be: ' + done.failures.map(function (f) { return f.workflowId + ' (' + f.code + ': ' + f.error + ')'; }).join('; ') : '.');
        Object.keys(selected).forEach(function (k) { delete selected[k]; });
        scope = 'selected';
        update();
        afterAction();
      }, function (error) { message.className = 'message error'; message.textContent = error.code + ': ' + error.message; goButton.disabled = false; });
    } }, [
      el('h2', { id: 'bulk-title', text: 'Act on many' }),
      el('p', {}, [count, ' ', allButton]),
      el('div', { className: 'row' }, [
        el('label', { for: 'bulk-action' }, ['Action', actionSelect]),
        el('label', { for: 'bulk-from' }, ['From step', fromInput]),
        previewButton
      ]),
      summary,
      el('div', { className: 'row' }, [el('label', { for: 'bulk-confirm' }, ['Number of workflows, to confirm', confirmInput]), goButton]),
      message
    ]);
    update();
    return { node: form, update: update };
  }
`;
