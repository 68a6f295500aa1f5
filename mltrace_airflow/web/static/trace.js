/* mltrace-airflow lineage view. Plain ES2017, no build step.
 * Requires vendor/dagre.min.js (global `dagre`) to be loaded first.
 * Public API: window.MltraceTrace.render(el, trace, options) and .renderTree(el, trace, options).
 * Every piece of data is inserted with textContent / setAttribute, never innerHTML:
 * pointer and component names are arbitrary user strings. */
(function () {
  'use strict';
  const SVG = 'http://www.w3.org/2000/svg';
  const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'; // keep in sync with mltrace.css
  const BOLD = '600 ' + FONT, SUB_FONT = FONT.replace('12px', '11px'); // node title / subtitle
  const MONO = 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
  const LABEL_FONT = '11px ' + MONO, OUT_FONT = '12px ' + MONO; // edge labels, output name
  const NODE_H = 48, NODE_MIN_W = 150, NODE_MAX_W = 260, LABEL_MAX_W = 150;
  // Layout cost grows fast with size (measured: network-simplex ranking alone is ~8 s at
  // 1000 runs), so bigger graphs switch to dagre's cheaper ranker / simpleOrder below.
  const FAST_RANKER_ABOVE = 250, NO_ORDER_SWEEPS_ABOVE = 800;
  let uid = 0; // distinguishes <marker> ids when several graphs share a page

  function h(tag, attrs, text) {
    const el = document.createElement(tag);
    for (const k in attrs || {}) el.setAttribute(k, attrs[k]);
    if (text != null) el.textContent = String(text);
    return el;
  }
  function s(tag, attrs, text) {
    const el = document.createElementNS(SVG, tag);
    for (const k in attrs || {}) el.setAttribute(k, attrs[k]);
    if (text != null) el.textContent = String(text);
    return el;
  }
  function title(parent, text) { parent.insertBefore(s('title', null, text), parent.firstChild); }

  // Text width via one shared canvas: far cheaper than getBBox() on 2000 live SVG nodes.
  let ctx = null, ctxFont = '';
  function textWidth(t, font) {
    if (!ctx) ctx = document.createElement('canvas').getContext('2d');
    font = font || FONT;
    if (font !== ctxFont) { ctx.font = ctxFont = font; } // assigning ctx.font re-parses it: costly
    return ctx.measureText(t).width;
  }
  // Shorten to maxPx with an ellipsis. Pointers are cut in the middle because the
  // file name at the end is usually the informative part (s3://bucket/…/x.csv).
  function fit(t, maxPx, middle, font) {
    t = String(t);
    if (textWidth(t, font) <= maxPx) return t;
    let lo = 0, hi = t.length;
    const cut = (n) => middle ? t.slice(0, Math.ceil(n / 2)) + '…' + t.slice(t.length - Math.floor(n / 2)) : t.slice(0, n) + '…';
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (textWidth(cut(mid), font) <= maxPx) lo = mid; else hi = mid - 1; }
    return cut(lo);
  }

  const F = window.MltraceFormats;
  function fmtTime(t) { return F.when(t) || '—'; }
  function duration(n) { return F.duration((Date.parse(n.end) - Date.parse(n.start)) / 1000); }
  function status(n) { return F.status(n.status); }
  function nodeTooltip(n) {
    let t = `${n.component} #${n.id}\nstatus: ${n.status}\nstart: ${fmtTime(n.start)}\nend: ${fmtTime(n.end)}`;
    if (n.stale && n.stale.length) t += '\n\nStale inputs:\n' + n.stale.map((m) => '• ' + m).join('\n');
    if (n.notes) t += '\n\nNotes: ' + n.notes;
    return t;
  }
  function pointerLabel(vias) { return vias.length <= 2 ? vias.join(', ') : vias.length + ' pointers'; }
  function defaultRunUrl(id) { return 'runs/' + id; }

  // Index the trace once: runs by id, and merged producer edges per consumer
  // (several pointers between the same pair of runs become one edge).
  function index(trace) {
    const byId = new Map(), producers = new Map();
    for (const n of trace.nodes || []) { byId.set(n.id, n); producers.set(n.id, new Map()); }
    for (const e of trace.edges || []) {
      if (e.from === e.to || !byId.has(e.from) || !byId.has(e.to)) continue;
      const m = producers.get(e.from);
      if (!m.has(e.to)) m.set(e.to, []);
      if (!m.get(e.to).includes(e.via)) m.get(e.to).push(e.via);
    }
    const roots = (trace.nodes || []).filter((n) => n.depth === 0);
    if (!roots.length && byId.size) roots.push(byId.values().next().value); // malformed input: still draw something
    const maxDepth = (trace.nodes || []).reduce((a, n) => Math.max(a, n.depth || 0), 0);
    return { byId, producers, roots, maxDepth };
  }

  // Default collapse: everything for small traces, otherwise depth ≤ 6, reduced
  // further while that would still show more than `budget` runs.
  function autoDepth(trace, budget) {
    const nodes = trace.nodes || [];
    if (nodes.length <= 150) return Infinity;
    const perDepth = [];
    for (const n of nodes) perDepth[n.depth || 0] = (perDepth[n.depth || 0] || 0) + 1;
    let d = 6;
    const upTo = (k) => perDepth.slice(0, k + 1).reduce((a, c) => a + (c || 0), 0);
    while (d > 1 && upTo(d) > budget) d--;
    return d;
  }

  // d3.curveBasis equivalent: a smooth B-spline through dagre's edge control points.
  function curve(p) {
    let d = `M${p[0].x},${p[0].y}`;
    if (p.length < 3) return d + (p[1] ? `L${p[1].x},${p[1].y}` : '');
    const f = (v) => Math.round(v * 10) / 10;
    let x0 = p[0].x, y0 = p[0].y, x1 = p[1].x, y1 = p[1].y;
    d += `L${f((5 * x0 + x1) / 6)},${f((5 * y0 + y1) / 6)}`;
    const seg = (x, y) => {
      d += `C${f((2 * x0 + x1) / 3)},${f((2 * y0 + y1) / 3)} ${f((x0 + 2 * x1) / 3)},${f((y0 + 2 * y1) / 3)} ${f((x0 + 4 * x1 + x) / 6)},${f((y0 + 4 * y1 + y) / 6)}`;
      x0 = x1; y0 = y1; x1 = x; y1 = y;
    };
    for (let i = 2; i < p.length; i++) seg(p[i].x, p[i].y);
    seg(x1, y1);
    return d + `L${x1},${y1}`;
  }

  // Replacement for dagre's node ordering on big graphs (passed as `customOrder`): the
  // same depth-first initial order dagre starts from, minus its crossing-reduction
  // sweeps (slow at 1000+ runs), and iterative: dagre's version recurses once per rank
  // and overflows the call stack on ~2000-deep chains.
  function simpleOrder(graph) {
    const layers = [], seen = new Set();
    const vs = graph.nodes().sort((a, b) => graph.node(a).rank - graph.node(b).rank);
    for (const start of vs) {
      const stack = [start];
      while (stack.length) {
        const v = stack.pop();
        if (seen.has(v)) continue;
        seen.add(v);
        const r = graph.node(v).rank;
        (layers[r] = layers[r] || []).push(v);
        const next = graph.successors(v) || [];
        for (let i = next.length - 1; i >= 0; i--) if (!seen.has(next[i])) stack.push(next[i]);
      }
    }
    layers.forEach((layer) => layer.forEach((v, i) => { graph.node(v).order = i; }));
  }

  /* Graph view. Left-to-right: data flows the way text reads, the output's producer
   * sits on the right next to the output itself, and depth levels become columns, so
   * wide fan-in stacks vertically (the direction pages scroll) and pointer labels sit
   * on mostly horizontal edges where long names fit. */
  function render(container, trace, options) {
    if (typeof dagre === 'undefined') throw new Error('MltraceTrace: load vendor/dagre.min.js first');
    const opts = Object.assign({ runUrl: defaultRunUrl, maxDepth: null, nodeBudget: 300, showOutput: true, initialView: 'auto', minInitialScale: 0.6 }, options);
    const idx = index(trace);
    const total = idx.byId.size;
    let depthShown = opts.maxDepth == null ? autoDepth(trace, opts.nodeBudget) : opts.maxDepth;
    const view = { x: 0, y: 0, k: 1 };
    const ctl = { layoutMs: 0, visibleCount: 0 };

    container.textContent = '';
    const root = h('div', { class: 'mltrace-trace' });
    container.appendChild(root);
    if (!total) { root.appendChild(h('p', { class: 'mltrace-empty' }, 'No lineage recorded for this output.')); return ctl; }

    // Toolbar: zoom buttons, depth control, counts.
    const bar = h('div', { class: 'mltrace-toolbar', role: 'toolbar', 'aria-label': 'Lineage graph controls' });
    const btn = (label, aria, fn) => { const b = h('button', { type: 'button', class: 'mltrace-btn', title: aria, 'aria-label': aria }, label); b.addEventListener('click', fn); bar.appendChild(b); return b; };
    btn('+', 'Zoom in', () => zoomBy(1.25));
    btn('−', 'Zoom out', () => zoomBy(0.8));
    btn('Fit', 'Fit to screen', () => fitView());
    let depthInput = null, allBtn = null;
    if (idx.maxDepth > 0) {
      const lab = h('label', { class: 'mltrace-depth' }, 'Upstream depth ');
      depthInput = h('input', { type: 'number', min: '0', max: String(idx.maxDepth), class: 'mltrace-depth-input' });
      depthInput.addEventListener('change', () => { const v = parseInt(depthInput.value, 10); if (v >= 0) setMaxDepth(v); });
      lab.appendChild(depthInput);
      lab.appendChild(document.createTextNode(' / ' + idx.maxDepth));
      bar.appendChild(lab);
      allBtn = btn('Show all', 'Show all upstream runs', () => setMaxDepth(Infinity));
    }
    const count = h('span', { class: 'mltrace-count', 'aria-live': 'polite' });
    bar.appendChild(count);
    root.appendChild(bar);
    if (trace.truncated) root.appendChild(h('div', { class: 'mltrace-note mltrace-note-warn mltrace-truncated', role: 'note' }, `Lineage truncated at depth ${idx.maxDepth}: older upstream runs are not shown.`));
    const errorNote = h('div', { class: 'mltrace-note mltrace-note-error', role: 'alert', hidden: '' });
    root.appendChild(errorNote);

    const vp = h('div', { class: 'mltrace-viewport' });
    if (opts.height) vp.style.height = typeof opts.height === 'number' ? opts.height + 'px' : opts.height;
    const svg = s('svg', { class: 'mltrace-svg', role: 'img', 'aria-label': 'Lineage graph for ' + trace.output });
    const mid = 'mltrace-arrow-' + (++uid);
    const defs = s('defs');
    const marker = s('marker', { id: mid, viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' });
    marker.appendChild(s('path', { d: 'M0,0L10,5L0,10z', class: 'mltrace-arrowhead' }));
    defs.appendChild(marker);
    svg.appendChild(defs);
    const scene = s('g', { class: 'mltrace-scene' });
    svg.appendChild(scene);
    vp.appendChild(svg);
    root.appendChild(vp);
    root.appendChild(legend());

    function applyView() { scene.setAttribute('transform', `translate(${view.x},${view.y}) scale(${view.k})`); }
    function zoomAt(px, py, factor) {
      const k = Math.min(4, Math.max(0.02, view.k * factor));
      view.x = px - (px - view.x) * (k / view.k); view.y = py - (py - view.y) * (k / view.k); view.k = k;
      applyView();
    }
    function zoomBy(f) { zoomAt(vp.clientWidth / 2, vp.clientHeight / 2, f); }
    let graphSize = { w: 1, h: 1, rootY: 0 };
    // initial=true with initialView 'auto': if fitting everything would shrink text below
    // minInitialScale, show the right-hand end (the output and its producer) at that
    // scale instead; the Fit button always shows the whole graph.
    function fitView(initial) {
      const { w, h: ht } = graphSize, vw = vp.clientWidth || 800, vh = vp.clientHeight || 500;
      const k = Math.max(0.02, Math.min(1.25, (vw - 24) / w, (vh - 24) / ht));
      if (initial === true && opts.initialView === 'auto' && k < opts.minInitialScale) {
        view.k = opts.minInitialScale;
        view.x = vw - 12 - w * view.k;
        view.y = ht * view.k <= vh - 24 ? (vh - ht * view.k) / 2
          : Math.min(12, Math.max(vh - 12 - ht * view.k, vh / 2 - graphSize.rootY * view.k));
      } else {
        view.k = k; view.x = (vw - w * k) / 2; view.y = (vh - ht * k) / 2;
      }
      applyView();
    }

    // Pan by dragging anywhere (nodes included). Pointer capture starts only after a
    // few pixels of movement so that a plain click still reaches the node link.
    let drag = null, suppressClick = false;
    vp.addEventListener('pointerdown', (e) => { suppressClick = false; if (e.button === 0) drag = { id: e.pointerId, x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, moved: false }; });
    vp.addEventListener('pointermove', (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!drag.moved) { drag.moved = true; vp.setPointerCapture(e.pointerId); vp.classList.add('mltrace-dragging'); }
      view.x = drag.vx + dx; view.y = drag.vy + dy; applyView();
    });
    const endDrag = () => { if (drag && drag.moved) suppressClick = true; drag = null; vp.classList.remove('mltrace-dragging'); };
    vp.addEventListener('pointerup', endDrag);
    vp.addEventListener('pointercancel', endDrag);
    vp.addEventListener('click', (e) => { if (suppressClick) { e.preventDefault(); e.stopPropagation(); } suppressClick = false; }, true);
    vp.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = vp.getBoundingClientRect();
      zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * (e.deltaMode ? 0.05 : 0.0015)));
    }, { passive: false });

    // Changing depth re-runs the layout. Should dagre still fail (stack or memory limits
    // on some huge graph), fall back to the previous depth and say why instead of
    // leaving a blank graph.
    function setMaxDepth(d, initial) {
      const prev = depthShown;
      depthShown = d >= idx.maxDepth ? Infinity : Math.max(0, d);
      errorNote.hidden = true;
      try {
        draw();
      } catch (err) {
        depthShown = prev !== depthShown ? prev : autoDepth({ nodes: [...idx.byId.values()] }, opts.nodeBudget);
        if (depthShown === Infinity) depthShown = 6;
        draw();
        errorNote.textContent = `The graph is too large to draw at that depth (${err.message}). Showing depth ${depthShown}; the tree view lists the full lineage.`;
        errorNote.hidden = false;
      }
      fitView(initial);
    }

    function draw() {
      const visible = (n) => !(n.depth > depthShown); // a run without depth counts as shown
      const g = new dagre.graphlib.Graph();
      g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 56, edgesep: 8, marginx: 12, marginy: 12 });
      g.setDefaultEdgeLabel(() => ({}));
      const labels = new Map(); // dagre node id -> display info
      let shown = 0;
      for (const n of idx.byId.values()) {
        if (!visible(n)) continue;
        shown++;
        const name = fit(n.component, NODE_MAX_W - 30 - (n.stale && n.stale.length ? 10 : 0), false, BOLD);
        const sub = [`#${n.id}`, n.status, duration(n)].filter(Boolean).join(' · ');
        const w = Math.max(NODE_MIN_W, Math.min(NODE_MAX_W, Math.max(textWidth(name, BOLD), textWidth(sub, SUB_FONT)) + 40));
        g.setNode('r' + n.id, { width: w, height: NODE_H });
        labels.set('r' + n.id, { run: n, name, sub: fit(sub, w - 24, false, SUB_FONT) });
      }
      for (const [consumer, prods] of idx.producers) {
        if (!visible(idx.byId.get(consumer))) continue;
        let hidden = 0;
        for (const [producer, vias] of prods) {
          if (!visible(idx.byId.get(producer))) { hidden++; continue; }
          const text = fit(pointerLabel(vias), LABEL_MAX_W, vias.length === 1, LABEL_FONT);
          g.setEdge('r' + producer, 'r' + consumer, { width: textWidth(text, LABEL_FONT) + 8, height: 16, labelpos: 'c', text, full: vias.join('\n') });
        }
        if (hidden) {
          // "+k more upstream" with k = this run's hidden *direct* producers: counting all
          // hidden ancestors would repeat shared upstream in every placeholder.
          g.setNode('m' + consumer, { width: 130, height: 34 });
          labels.set('m' + consumer, { more: hidden });
          g.setEdge('m' + consumer, 'r' + consumer, { width: 0, height: 0 });
        }
      }
      if (opts.showOutput && trace.output != null) {
        const name = fit(trace.output, NODE_MAX_W - 24, true, OUT_FONT);
        g.setNode('out', { width: Math.max(120, textWidth(name, OUT_FONT) + 26), height: 40 });
        labels.set('out', { output: name });
        for (const r of idx.roots) if (visible(r)) g.setEdge('r' + r.id, 'out', { width: 0, height: 0 });
      }

      if (shown > FAST_RANKER_ABOVE) g.graph().ranker = 'tight-tree';
      const t0 = performance.now(), big = shown > NO_ORDER_SWEEPS_ABOVE;
      try {
        dagre.layout(g, big ? { customOrder: simpleOrder } : {});
      } catch (err) { // deep but < NO_ORDER_SWEEPS_ABOVE runs: retry without recursion (g is untouched on failure)
        if (big || !(err instanceof RangeError)) throw err;
        dagre.layout(g, { customOrder: simpleOrder });
      }
      ctl.layoutMs = Math.round(performance.now() - t0);
      ctl.visibleCount = shown;
      root.dataset.layoutMs = String(ctl.layoutMs);

      // Build into a fragment, then swap: one reflow instead of thousands.
      const frag = document.createDocumentFragment();
      const edgeLayer = s('g', { class: 'mltrace-edges' }), nodeLayer = s('g', { class: 'mltrace-nodes' });
      frag.appendChild(edgeLayer); frag.appendChild(nodeLayer);
      for (const e of g.edges()) {
        const lab = g.edge(e);
        const grp = s('g', { class: 'mltrace-edge' + (e.v[0] === 'm' ? ' mltrace-edge-more' : '') });
        grp.appendChild(s('path', { d: curve(lab.points), 'marker-end': `url(#${mid})` }));
        if (lab.text) {
          title(grp, lab.full);
          grp.appendChild(s('rect', { class: 'mltrace-edge-label-bg', x: lab.x - lab.width / 2, y: lab.y - 8, width: lab.width, height: 16, rx: 3 }));
          grp.appendChild(s('text', { class: 'mltrace-edge-label', x: lab.x, y: lab.y + 4, 'text-anchor': 'middle' }, lab.text));
        }
        edgeLayer.appendChild(grp);
      }
      for (const id of g.nodes()) {
        const p = g.node(id), info = labels.get(id);
        const tr = `translate(${p.x - p.width / 2},${p.y - p.height / 2})`;
        if (info.run) nodeLayer.appendChild(runNode(info.run, info, p, tr));
        else if (info.more != null) nodeLayer.appendChild(moreNode(info.more, p, tr));
        else nodeLayer.appendChild(outputNode(info.output, p, tr));
      }
      scene.textContent = '';
      scene.appendChild(frag);
      const gg = g.graph(), r0 = idx.roots.length && g.node('r' + idx.roots[0].id);
      graphSize = { w: gg.width || 1, h: gg.height || 1, rootY: r0 ? r0.y : gg.height / 2 };
      // Small graphs get a viewport just tall enough, not 70vh of empty canvas.
      if (!opts.height) vp.style.height = gg.height + 40 < 320 ? Math.max(180, gg.height + 40) + 'px' : '';

      count.textContent = shown === total ? `${total} run${total === 1 ? '' : 's'}` : `Showing ${shown} of ${total} runs`;
      if (depthInput) depthInput.value = String(Math.min(depthShown, idx.maxDepth));
      if (allBtn) allBtn.disabled = depthShown === Infinity;
    }

    function runNode(n, info, p, tr) {
      const st = status(n), stale = n.stale && n.stale.length;
      const a = s('a', {
        class: `mltrace-node mltrace-status-${st}` + (stale ? ' mltrace-stale' : '') + (n.depth === 0 ? ' mltrace-root' : ''),
        href: opts.runUrl(n.id), 'data-run-id': String(n.id), transform: tr,
        'aria-label': `${n.component} run ${n.id}, ${n.status}` + (stale ? ', stale inputs' : ''),
      });
      title(a, nodeTooltip(n));
      a.appendChild(s('rect', { class: 'mltrace-node-box', width: p.width, height: p.height, rx: 8 }));
      a.appendChild(s('rect', { class: 'mltrace-node-bar', x: 0, y: 8, width: 4, height: p.height - 16, rx: 2 }));
      a.appendChild(s('text', { class: 'mltrace-node-title', x: 14, y: 20 }, info.name));
      a.appendChild(s('text', { class: 'mltrace-node-sub', x: 14, y: 37 }, info.sub));
      if (stale) {
        const b = s('g', { class: 'mltrace-stale-badge', transform: `translate(${p.width - 4},4)` });
        b.appendChild(s('title', null, 'Stale inputs:\n' + n.stale.map((m) => '• ' + m).join('\n')));
        b.appendChild(s('circle', { r: 9 }));
        b.appendChild(s('text', { y: 4, 'text-anchor': 'middle' }, '!'));
        a.appendChild(b);
      }
      return a;
    }
    function moreNode(k, p, tr) {
      const el = s('g', { class: 'mltrace-more', transform: tr, role: 'button', tabindex: '0', 'aria-label': `Show ${k} more upstream runs` });
      title(el, `${k} producer run${k === 1 ? '' : 's'} of this run hidden beyond depth ${depthShown}. Click to show 3 more levels.`);
      el.appendChild(s('rect', { width: p.width, height: p.height, rx: 17 }));
      el.appendChild(s('text', { x: p.width / 2, y: 21, 'text-anchor': 'middle' }, `+${k} more upstream`));
      const expand = () => setMaxDepth(depthShown + 3);
      el.addEventListener('click', expand);
      el.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); expand(); } });
      return el;
    }
    function outputNode(name, p, tr) {
      const el = s('g', { class: 'mltrace-output-node', transform: tr });
      title(el, 'Output: ' + trace.output);
      el.appendChild(s('rect', { width: p.width, height: p.height, rx: 4 }));
      el.appendChild(s('text', { class: 'mltrace-output-kicker', x: 12, y: 15 }, 'OUTPUT'));
      el.appendChild(s('text', { x: 12, y: 31 }, name));
      return el;
    }

    setMaxDepth(depthShown, true);
    Object.assign(ctl, { setMaxDepth, fit: fitView, zoom: zoomBy, getMaxDepth: () => depthShown });
    return ctl;
  }

  function legend() {
    const el = h('div', { class: 'mltrace-legend', 'aria-hidden': 'true' });
    for (const st of F.STATUSES) {
      const item = h('span', { class: 'mltrace-legend-item' });
      item.appendChild(h('span', { class: `mltrace-swatch mltrace-status-${st}` }));
      item.appendChild(document.createTextNode(st));
      el.appendChild(item);
    }
    const stale = h('span', { class: 'mltrace-legend-item' });
    stale.appendChild(h('span', { class: 'mltrace-swatch-stale' }, '!'));
    stale.appendChild(document.createTextNode('stale input (hover for details)'));
    el.appendChild(stale);
    el.appendChild(h('span', { class: 'mltrace-legend-item mltrace-legend-hint' }, 'Drag to pan · wheel to zoom · click a run to open it'));
    return el;
  }

  /* Tree view: nested <details>, root = depth-0 run, children = its producers. A run
   * reached again is shown as a back-reference, which keeps the DOM linear in the
   * number of edges instead of exponential in diamond-shaped lineage. Built with an
   * explicit stack so 2000-deep chains cannot overflow the JS call stack. */
  function renderTree(container, trace, options) {
    const opts = Object.assign({ runUrl: defaultRunUrl, openDepth: 3 }, options);
    const idx = index(trace);
    container.textContent = '';
    const root = h('div', { class: 'mltrace-tree' });
    container.appendChild(root);
    if (trace.truncated) root.appendChild(h('div', { class: 'mltrace-note mltrace-note-warn', role: 'note' }, `Lineage truncated at depth ${idx.maxDepth}.`));
    if (!idx.byId.size) { root.appendChild(h('p', { class: 'mltrace-empty' }, 'No lineage recorded for this output.')); return; }
    const seen = new Set();
    const stack = idx.roots.slice().reverse().map((n) => ({ id: n.id, vias: null, parent: root, level: 0 }));
    while (stack.length) {
      const { id, vias, parent, level } = stack.pop();
      const n = idx.byId.get(id);
      const line = h('span', { class: 'mltrace-tree-line' });
      if (vias) line.appendChild(h('span', { class: 'mltrace-tree-via', title: vias.join('\n') }, '← ' + pointerLabel(vias) + ' '));
      if (seen.has(id)) {
        const ref = h('a', { class: 'mltrace-tree-ref', href: opts.runUrl(id), 'data-run-id': String(id) }, `→ #${id} (see above)`);
        line.appendChild(ref);
        parent.appendChild(h('div', { class: 'mltrace-tree-leaf' })).appendChild(line);
        continue;
      }
      seen.add(id);
      line.appendChild(h('span', { class: `mltrace-badge mltrace-status-${status(n)}` }, n.status));
      line.appendChild(document.createTextNode(' '));
      line.appendChild(h('a', { class: 'mltrace-tree-run', href: opts.runUrl(id), 'data-run-id': String(id), title: nodeTooltip(n) }, `${n.component} #${id}`));
      if (n.stale && n.stale.length) line.appendChild(h('span', { class: 'mltrace-badge mltrace-badge-stale', title: n.stale.join('\n') }, 'stale'));
      const prods = [...idx.producers.get(id)];
      if (!prods.length) { parent.appendChild(h('div', { class: 'mltrace-tree-leaf' })).appendChild(line); continue; }
      const det = h('details', { class: 'mltrace-tree-node' });
      if (level < opts.openDepth) det.open = true;
      det.appendChild(h('summary')).appendChild(line);
      const kids = h('div', { class: 'mltrace-tree-children' });
      det.appendChild(kids);
      parent.appendChild(det);
      for (let i = prods.length - 1; i >= 0; i--) stack.push({ id: prods[i][0], vias: prods[i][1], parent: kids, level: level + 1 });
    }
  }

  window.MltraceTrace = { render, renderTree };
})();
