// Reelay dashboard: a little script, no build step. Live job updates over the dashboard's server-sent event stream,
// the try-it form's per-model choices, the spritesheet scrubber and confirmations. Pages work without it.
(function () {
  'use strict';

  function follow(ids, onJob) {
    if (!ids.length || !window.EventSource) { return null; }
    var source = new EventSource('/dashboard/events?ids=' + ids.map(encodeURIComponent).join(','));
    source.addEventListener('job', function (e) { onJob(JSON.parse(e.data)); });
    return source;
  }

  function paint(root, job) {
    var status = root.querySelector('[data-field=status]');
    if (status) { status.textContent = job.status; status.className = 'badge status-' + job.status; }
    var progress = root.querySelector('[data-field=progress]');
    if (progress) { progress.value = job.progress; progress.textContent = job.progress + '%'; }
    var text = root.querySelector('[data-field=progress-text]');
    if (text) { text.textContent = job.progress + '%'; }
    var error = root.querySelector('[data-field=error]');
    if (error && job.error_code) { error.textContent = job.error_code + ': ' + job.error_message; error.hidden = false; }
    root.setAttribute('data-status', job.status);
  }

  // The jobs list: one stream for every unfinished job on the page.
  var table = document.getElementById('jobs-table');
  if (table && table.dataset.live) {
    var live = document.getElementById('live-state');
    var list = follow(table.dataset.live.split(','), function (job) {
      var row = table.querySelector('tr[data-job-id="' + job.id + '"]');
      if (row) { paint(row, job); }
    });
    if (list && live) {
      list.onopen = function () { live.textContent = 'Following unfinished jobs live.'; };
      list.onerror = function () { if (list.readyState === EventSource.CLOSED) { live.textContent = 'Live updates stopped; reload to refresh.'; } };
    }
  }

  // A job's page: follow it; when it succeeds, bring in the player without a reload.
  var head = document.getElementById('job');
  if (head && ['queued', 'submitting', 'running'].indexOf(head.dataset.status) >= 0) {
    var single = follow([head.dataset.jobId], function (job) {
      paint(head, job);
      if (job.terminal) {
        single.close();
        var result = document.getElementById('result');
        var pending = document.getElementById('video-pending');
        var cancel = document.getElementById('cancel-job');
        if (cancel) { cancel.closest('form').remove(); }
        if (job.status === 'succeeded' && result && pending) {
          var video = document.createElement('video');
          video.id = 'player'; video.controls = true; video.preload = 'metadata'; video.playsInline = true;
          video.src = result.dataset.video;
          if (result.dataset.thumbnail) { video.poster = result.dataset.thumbnail; }
          pending.replaceWith(video);
          result.dataset.ready = 'true';
        } else if (pending) {
          pending.textContent = 'This job produced no video.';
        }
      }
    });
  }

  // Spritesheet scrubber: ten frames in a 5x2 grid; the slider (keyboard: arrows) picks one.
  var sprite = document.getElementById('sprite');
  var frame = document.getElementById('sprite-frame');
  if (sprite && frame) {
    var cols = +sprite.dataset.cols, rows = +sprite.dataset.rows;
    sprite.style.backgroundImage = 'url("' + sprite.dataset.src + '")';
    sprite.style.backgroundSize = (cols * 100) + '% ' + (rows * 100) + '%';
    sprite.style.aspectRatio = sprite.dataset.width + ' / ' + sprite.dataset.height;
    var show = function () {
      var i = +frame.value, c = i % cols, r = Math.floor(i / cols);
      sprite.style.backgroundPosition = (c * 100 / (cols - 1)) + '% ' + (r * 100 / (rows - 1)) + '%';
      sprite.setAttribute('aria-label', 'Frame ' + (i + 1) + ' of ' + (cols * rows));
    };
    frame.addEventListener('input', show);
    show();
  }

  // Try it: offer the chosen model's own durations and sizes.
  var data = document.getElementById('catalog-data');
  var model = document.getElementById('t-model');
  if (data && model) {
    var models = JSON.parse(data.textContent);
    var fill = function (select, items, chosen) {
      select.innerHTML = '';
      items.forEach(function (item) {
        var option = document.createElement('option');
        option.value = item.value; option.textContent = item.label; option.selected = item.value === chosen;
        select.appendChild(option);
      });
    };
    model.addEventListener('change', function () {
      var m = models.filter(function (x) { return x.name === model.value; })[0];
      if (!m) { return; }
      fill(document.getElementById('t-seconds'), m.durations.map(function (d) { return { value: String(d), label: String(d) }; }), String(m.default_duration));
      fill(document.getElementById('t-shape'), m.shapes, m.default_shape);
      var help = document.getElementById('t-model-help');
      if (help) { help.textContent = m.description || ''; }
    });
  }

  // Destructive forms ask first.
  document.querySelectorAll('form.confirm').forEach(function (form) {
    form.addEventListener('submit', function (e) { if (!window.confirm(form.dataset.confirm)) { e.preventDefault(); } });
  });
})();
