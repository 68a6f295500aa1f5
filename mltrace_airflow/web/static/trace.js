/* mltrace lineage graph: an SVG drawing of a trace, by component or by run. Plain ES2017, no build step.
 * Needs formats.js, lineage.js, trace-draw.js (node shapes) and vendor/dagre.min.js loaded first
 * (trace-export.js for files).
 *
 *   const graph = MltraceTrace.render(container, trace, options)   // trace: the JSON of Trace.to_dict()
 *
 * A trace of more than `componentThreshold` runs opens by component (one node per component with its run
 * count, status mix and time span); a component expands to its runs in place. Clicking a node (or Space
 * on it) pins a focus: its upstream and downstream paths stay, the rest fades; the critical path toggle
 * marks the chain of runs that determined when the output was written.
 *
 * Building on it (options, see DEFAULTS): `nodeClass(item)` / `edgeClass(edge)` add classes, `badges(item)`
 * adds pills ({text, title, className}) to a node's top edge, `toolbar(element, graph)` adds controls to
 * the toolbar, `onSelect(item, graph)` / `onDraw(graph)` observe. An item is a node of
 * MltraceLineage.view(): {key, kind: 'run' | 'component' | 'pointer', run | component | name}; a
 * component has {name, runs, statuses, start, end, span, depth}. Edges: {source, target, runs, pointers}.
 * The returned graph: mode ('component' | 'run'), setMode(m), expand(name), collapse(name), expanded(),
 * setMaxDepth(d), getMaxDepth(), select(key | null), selected(), keyOfRun(id), keyOfComponent(name),
 * find(query), setCriticalPath(on) -> {runs, seconds}, criticalPath(), fit(), zoom(f), centre(key),
 * redraw(), view(), layout(), index, root, svg, toolbar (the extra slot), exportText(fmt),
 * exportBlob(fmt), download(fmt) (fmt: svg png dot mermaid json); layoutMs, drawMs, visibleCount (run
 * nodes), componentCount, readyAt (performance.now() when first drawn).
 * Every piece of data is inserted with textContent / setAttribute, never innerHTML. */
(function () {
  'use strict';
  const L = window.MltraceLineage, F = window.MltraceFormats, D = window.MltraceDraw;
  const { h, s, title, textWidth, fit, when, curve, LABEL_FONT, LABEL_MAX_W } = D;
  // Layout cost grows fast with size (network-simplex ranking alone is ~8 s at 1,000 runs): bigger
  // graphs switch to dagre's cheaper ranker / simpleOrder below.
  // An expanded component is mostly a fan of its runs between two nodes, where the sweeps gain little:
  // there they stop earlier (a 200-run expansion lays out in ~100 ms instead of ~400 ms).
  const FAST_RANKER_ABOVE = 250, NO_ORDER_SWEEPS_ABOVE = 800, NO_ORDER_SWEEPS_EXPANDED_ABOVE = 150;
  // Past this many run nodes dagre takes seconds and then overflows the stack (seen at 10,000): the run
  // view stops short of it and says so; the component view shows every run at any size.
  const MAX_RUN_NODES = 1500;
  const DEFAULTS = {
    runUrl: (id) => 'runs/' + id, // where a run opens (Enter, double-click, the details panel)
    componentUrl: null, // (name) => URL of the component's page, or null
    view: 'auto', // 'auto' | 'component' | 'run'
    componentThreshold: 50, // 'auto' opens by component above this many runs
    maxDepth: null, // run view: depth shown at first (null: chosen from nodeBudget)
    nodeBudget: 300, // run view: at most about this many runs at first
    showOutput: true,
    initialView: 'auto', // 'auto': readable scale at the output's end if fitting all is too small; 'fit'
    minInitialScale: 0.6,
    height: null,
    nodeClass: null, // (item) => extra classes; item: a node of MltraceLineage.view (kind run/component/pointer)
    edgeClass: null, // (edge) => extra classes
    badges: null, // (item) => [{text, title, className}]
    toolbar: null, // (toolbarExtraElement, api) => void, once
    onSelect: null, // (item | null, api) => void
    onDraw: null, // (api) => void, after every drawing
  };
  let uid = 0; // distinguishes <marker> ids when several graphs share a page

  // Depth shown at first in the run view: all for small traces, else ≤ 6, less while over budget.
  function autoDepth(idx, budget) {
    if (idx.runs.length <= 150) return Infinity;
    const perDepth = [];
    for (const r of idx.runs) perDepth[r.depth || 0] = (perDepth[r.depth || 0] || 0) + 1;
    const upTo = (k) => perDepth.slice(0, k + 1).reduce((a, c) => a + (c || 0), 0);
    let d = 6;
    while (d > 1 && upTo(d) > budget) d--;
    return d;
  }

  // dagre's node ordering without its crossing-reduction sweeps (slow at 1000+ nodes), iterative
  // (dagre's recurses once per rank and overflows the stack on ~2000-deep chains).
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

  /* The graph. Left to right: data flows the way text reads, the output sits on the right next to the
   * run that wrote it, and wide fan-in stacks vertically (the direction pages scroll). */
  function render(container, trace, options) {
    if (typeof dagre === 'undefined') throw new Error('MltraceTrace: load vendor/dagre.min.js first');
    const opts = Object.assign({}, DEFAULTS, options);
    const idx = L.index(trace), total = idx.runs.length;
    const upstream = (trace.direction || 'upstream') === 'upstream';
    const st = {
      mode: opts.view === 'auto' ? (total > opts.componentThreshold ? 'component' : 'run') : opts.view,
      expanded: new Set(), depth: opts.maxDepth == null ? autoDepth(idx, opts.nodeBudget) : opts.maxDepth,
      selected: null, critical: null, matches: [], match: -1, current: null,
    };
    const cameraView = { x: 0, y: 0, k: 1 };
    let v = null, layout = null, graphSize = { w: 1, h: 1 }, els = new Map(), edgeEls = [];
    const api = { index: idx, layoutMs: 0, drawMs: 0, visibleCount: 0, componentCount: 0 };

    container.textContent = '';
    const root = h('div', { class: 'mltrace-trace' });
    container.appendChild(root);
    if (!total) { root.appendChild(h('p', { class: 'mltrace-empty' }, upstream ? 'No lineage recorded for this output.' : 'No run has read this pointer.')); return api; }

    // -- toolbar ----------------------------------------------------------------------------------
    const bar = h('div', { class: 'mltrace-toolbar', role: 'toolbar', 'aria-label': 'Lineage graph controls' });
    const btn = (parent, label, tip, fn, cls) => {
      const b = h('button', { type: 'button', class: 'mltrace-btn' + (cls ? ' ' + cls : ''), title: tip }, label);
      if (label.length <= 1) b.setAttribute('aria-label', tip);
      b.addEventListener('click', fn); parent.appendChild(b); return b;
    };
    const modes = h('span', { class: 'mltrace-segmented', role: 'group', 'aria-label': 'Show' });
    const compBtn = btn(modes, 'Components', 'One node per component (expand one to see its runs)', () => setMode('component'));
    const runBtn = btn(modes, 'Runs', 'One node per run', () => setMode('run'));
    bar.appendChild(modes);
    const depthLab = h('label', { class: 'mltrace-depth' }, (upstream ? 'Upstream' : 'Downstream') + ' depth ');
    const depthInput = h('input', { type: 'number', min: '0', max: String(idx.maxDepth), class: 'mltrace-depth-input' });
    depthInput.addEventListener('change', () => { const d = parseInt(depthInput.value, 10); if (d >= 0) setMaxDepth(d); });
    depthLab.appendChild(depthInput);
    depthLab.appendChild(document.createTextNode(' / ' + idx.maxDepth));
    bar.appendChild(depthLab);
    const allBtn = btn(bar, 'Show all', 'Show every run of the trace', () => setMaxDepth(Infinity));
    const searchBox = h('input', { type: 'search', class: 'mltrace-search', placeholder: 'Find run #, component, pointer', 'aria-label': 'Find a run, component or pointer in the graph' });
    searchBox.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); if (st.matches.length && searchBox.value === st.matches.query) nextMatch(e.shiftKey ? -1 : 1); else find(searchBox.value); }
      if (e.key === 'Escape') { searchBox.value = ''; find(''); }
    });
    bar.appendChild(searchBox);
    const found = h('span', { class: 'mltrace-found', 'aria-live': 'polite' });
    bar.appendChild(found);
    const critBtn = btn(bar, 'Critical path', 'Mark the chain of runs that determined when the output was written', () => setCriticalPath(!st.critical));
    critBtn.setAttribute('aria-pressed', 'false');
    btn(bar, 'Fit', 'Fit to screen', () => fitView());
    btn(bar, '+', 'Zoom in', () => zoomBy(1.25));
    btn(bar, '−', 'Zoom out', () => zoomBy(0.8));
    const exportMenu = h('details', { class: 'mltrace-export' });
    exportMenu.appendChild(h('summary', { class: 'mltrace-btn', title: 'Download this view' }, 'Export'));
    const exportList = h('div', { class: 'mltrace-export-menu', role: 'menu' });
    for (const [fmt, label] of [['svg', 'SVG image'], ['png', 'PNG image'], ['dot', 'Graphviz DOT'], ['mermaid', 'Mermaid'], ['json', 'JSON']]) {
      const b = btn(exportList, label, `Download this view as ${label}`, () => { exportMenu.open = false; api.download(fmt); });
      b.setAttribute('role', 'menuitem'); b.dataset.format = fmt;
    }
    exportMenu.appendChild(exportList);
    bar.appendChild(exportMenu);
    const extra = h('span', { class: 'mltrace-toolbar-extra' });
    bar.appendChild(extra);
    const count = h('span', { class: 'mltrace-count', 'aria-live': 'polite' });
    bar.appendChild(count);
    root.appendChild(bar);
    if (trace.truncated) root.appendChild(h('div', { class: 'mltrace-note mltrace-note-warn mltrace-truncated', role: 'note' }, `Lineage truncated at depth ${idx.maxDepth}: older ${upstream ? 'upstream' : 'downstream'} runs are not shown.`));
    const critNote = h('div', { class: 'mltrace-note mltrace-critical-note', role: 'status', hidden: '' });
    root.appendChild(critNote);
    const errorNote = h('div', { class: 'mltrace-note mltrace-note-error', role: 'alert', hidden: '' });
    root.appendChild(errorNote);

    // -- viewport -----------------------------------------------------------------------------------
    const vp = h('div', { class: 'mltrace-viewport' });
    if (opts.height) vp.style.height = typeof opts.height === 'number' ? opts.height + 'px' : opts.height;
    const svg = s('svg', { class: 'mltrace-svg', role: 'group', 'aria-label': (upstream ? 'Lineage graph for ' : 'Downstream graph of ') + trace.output });
    const mid = 'mltrace-arrow-' + (++uid);
    const defs = s('defs');
    const marker = s('marker', { id: mid, viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse', markerUnits: 'userSpaceOnUse' });
    marker.appendChild(s('path', { d: 'M0,0L10,5L0,10z', class: 'mltrace-arrowhead' }));
    defs.appendChild(marker);
    svg.appendChild(defs);
    const scene = s('g', { class: 'mltrace-scene' });
    svg.appendChild(scene);
    vp.appendChild(svg);
    root.appendChild(vp);
    const details = h('div', { class: 'mltrace-details', 'aria-live': 'polite', hidden: '' });
    root.appendChild(details);
    root.appendChild(D.legend());

    function applyView() { scene.setAttribute('transform', `translate(${cameraView.x},${cameraView.y}) scale(${cameraView.k})`); }
    function zoomAt(px, py, factor) {
      const k = Math.min(4, Math.max(0.02, cameraView.k * factor));
      cameraView.x = px - (px - cameraView.x) * (k / cameraView.k); cameraView.y = py - (py - cameraView.y) * (k / cameraView.k); cameraView.k = k;
      applyView();
    }
    function zoomBy(f) { zoomAt(vp.clientWidth / 2, vp.clientHeight / 2, f); }
    // initial: if fitting all would shrink text below minInitialScale, show the output's end at that scale.
    function fitView(initial) {
      const { w, h: ht } = graphSize, vw = vp.clientWidth || 800, vh = vp.clientHeight || 500;
      const k = Math.max(0.02, Math.min(1.25, (vw - 24) / w, (vh - 24) / ht));
      const r0 = layout && layout.node(v.keyOf.get(idx.roots[0].id));
      if (initial === true && opts.initialView === 'auto' && k < opts.minInitialScale) {
        cameraView.k = opts.minInitialScale;
        cameraView.x = upstream ? vw - 12 - w * cameraView.k : 12;
        const rootY = r0 ? r0.y : ht / 2;
        cameraView.y = ht * cameraView.k <= vh - 24 ? (vh - ht * cameraView.k) / 2 : Math.min(12, Math.max(vh - 12 - ht * cameraView.k, vh / 2 - rootY * cameraView.k));
      } else {
        cameraView.k = k; cameraView.x = (vw - w * k) / 2; cameraView.y = (vh - ht * k) / 2;
      }
      applyView();
    }
    function centre(key) {
      const p = layout && layout.node(key);
      if (!p) return;
      if (cameraView.k < 0.5) cameraView.k = 0.8;
      cameraView.x = vp.clientWidth / 2 - p.x * cameraView.k; cameraView.y = vp.clientHeight / 2 - p.y * cameraView.k;
      applyView();
    }
    function ensureVisible(key) {
      const p = layout && layout.node(key);
      if (!p) return;
      const x = cameraView.x + p.x * cameraView.k, y = cameraView.y + p.y * cameraView.k;
      if (x < 40 || y < 30 || x > vp.clientWidth - 40 || y > vp.clientHeight - 30) centre(key);
    }

    // Pan by dragging anywhere; capture starts after a few pixels so a plain click still selects.
    let drag = null, suppressClick = false;
    vp.addEventListener('pointerdown', (e) => { suppressClick = false; if (e.button === 0) drag = { id: e.pointerId, x: e.clientX, y: e.clientY, vx: cameraView.x, vy: cameraView.y, moved: false }; });
    vp.addEventListener('pointermove', (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!drag.moved) { drag.moved = true; vp.setPointerCapture(e.pointerId); vp.classList.add('mltrace-dragging'); }
      cameraView.x = drag.vx + dx; cameraView.y = drag.vy + dy; applyView();
    });
    const endDrag = () => { if (drag && drag.moved) suppressClick = true; drag = null; vp.classList.remove('mltrace-dragging'); };
    vp.addEventListener('pointerup', endDrag);
    vp.addEventListener('pointercancel', endDrag);
    vp.addEventListener('click', (e) => {
      if (suppressClick) { e.preventDefault(); e.stopPropagation(); suppressClick = false; return; }
      const el = e.target.closest && e.target.closest('[data-key]');
      if (!el) { select(null); return; }
      const key = el.getAttribute('data-key');
      if (key.startsWith('m')) { setMaxDepth(st.depth + 3); return; }
      if (key === 'output') { select(null); return; }
      select(st.selected === key ? null : key);
    }, true);
    vp.addEventListener('dblclick', (e) => {
      const el = e.target.closest && e.target.closest('[data-key]');
      if (el) activate(el.getAttribute('data-key'));
    });
    vp.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = vp.getBoundingClientRect();
      zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * (e.deltaMode ? 0.05 : 0.0015)));
    }, { passive: false });
    vp.addEventListener('keydown', onKey);
    vp.addEventListener('focusin', (e) => {
      const el = e.target.closest && e.target.closest('[data-key]');
      if (el) setCurrent(el.getAttribute('data-key'), false);
    });

    // -- keyboard: one tab stop in the graph, arrows move between nodes ------------------------------
    function setCurrent(key, focus) {
      if (!els.has(key)) return;
      if (st.current && els.has(st.current)) els.get(st.current).setAttribute('tabindex', '-1');
      st.current = key;
      const el = els.get(key);
      el.setAttribute('tabindex', '0');
      if (focus) { el.focus({ preventScroll: true }); ensureVisible(key); }
    }
    function neighbour(key, dir) {
      const p = layout.node(key);
      let cands = [];
      if (dir === 'left' || dir === 'right') {
        for (const e of v.edges) {
          if (dir === 'left' && e.target === key && e.source !== key) cands.push(e.source);
          if (dir === 'right' && e.source === key && e.target !== key) cands.push(e.target);
        }
        if (!cands.length) cands = [...els.keys()].filter((k) => (dir === 'left' ? layout.node(k).x < p.x - 1 : layout.node(k).x > p.x + 1));
      } else {
        cands = [...els.keys()].filter((k) => (dir === 'up' ? layout.node(k).y < p.y - 1 : layout.node(k).y > p.y + 1));
        const column = cands.filter((k) => Math.abs(layout.node(k).x - p.x) < 1);
        if (column.length) cands = column;
      }
      let best = null, bestD = Infinity;
      for (const k of cands) {
        const q = layout.node(k);
        if (!q || !els.has(k)) continue;
        const d = dir === 'left' || dir === 'right' ? Math.abs(q.y - p.y) + 0.01 * Math.abs(q.x - p.x) : Math.abs(q.y - p.y) + 4 * Math.abs(q.x - p.x);
        if (d < bestD) { bestD = d; best = k; }
      }
      return best;
    }
    function onKey(e) {
      const el = e.target.closest && e.target.closest('[data-key]');
      if (!el) return;
      const key = el.getAttribute('data-key');
      const dirs = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' };
      if (dirs[e.key]) { const n = neighbour(key, dirs[e.key]); if (n) setCurrent(n, true); }
      else if (e.key === 'Enter') activate(key);
      else if (e.key === ' ') select(st.selected === key ? null : key);
      else if (e.key === 'Escape') select(null);
      else if (e.key === 'Home') setCurrent(v.keyOf.get(idx.roots[0].id), true);
      else return;
      e.preventDefault();
    }
    // Enter / double-click: a component expands or collapses; a run opens; a stub shows more depth.
    function activate(key) {
      if (key.startsWith('m')) return setMaxDepth(st.depth + 3);
      const n = v.byKey.get(key);
      if (!n) return;
      if (n.kind === 'component') expand(n.component.name);
      else if (n.kind === 'run') window.location.href = opts.runUrl(n.run.id);
    }

    // -- state changes ------------------------------------------------------------------------------
    function setMode(mode) {
      if (mode === st.mode) return;
      st.mode = mode;
      redraw({ fit: true });
    }
    function setMaxDepth(d) {
      let depth = d >= idx.maxDepth ? Infinity : Math.max(0, d), note = '';
      const upTo = (k) => idx.runs.reduce((a, r) => a + ((r.depth || 0) <= k ? 1 : 0), 0), asked = upTo(depth);
      if (asked > MAX_RUN_NODES) {
        depth = Math.min(depth, idx.maxDepth);
        while (depth > 0 && upTo(depth) > MAX_RUN_NODES) depth--;
        note = `${asked} runs are too many to draw one by one (at most ${MAX_RUN_NODES}): showing depth ${depth}. The Components view shows every run.`;
      }
      st.depth = depth;
      if (st.mode !== 'run') st.mode = 'run';
      redraw({ fit: true });
      if (note) { errorNote.textContent = note; errorNote.hidden = false; }
    }
    // Expand/collapse keeps the group where the user was looking: the new drawing is moved so that the
    // runs' centre lands where the component was on screen (and back).
    function regroup(name, on) {
      const c = idx.components.get(name);
      if (!c || on === st.expanded.has(name)) return;
      const before = anchor(c);
      if (on) st.expanded.add(name); else st.expanded.delete(name);
      if (st.selected && !on && c.runs.some((r) => 'r' + r.id === st.selected)) st.selected = 'c' + c.index;
      if (st.selected === 'c' + c.index && on) st.selected = null;
      if (on && st.current === 'c' + c.index) st.current = 'r' + c.runs[0].id; // keyboard focus stays in the group
      if (!on && c.runs.some((r) => 'r' + r.id === st.current)) st.current = 'c' + c.index;
      redraw({ keep: true });
      const after = anchor(c);
      if (before && after) { cameraView.x += before.x - after.x; cameraView.y += before.y - after.y; applyView(); }
    }
    function anchor(c) { // screen position of a component, or of the centre of its runs
      const keys = st.mode === 'component' && !st.expanded.has(c.name) ? ['c' + c.index] : c.runs.map((r) => 'r' + r.id);
      let x = 0, y = 0, n = 0;
      for (const k of keys) { const p = layout && layout.node(k); if (p) { x += p.x; y += p.y; n++; } }
      return n ? { x: cameraView.x + (x / n) * cameraView.k, y: cameraView.y + (y / n) * cameraView.k } : null;
    }
    function expand(name) { if (st.mode !== 'component') return; regroup(name, !st.expanded.has(name)); }

    function select(key) {
      if (key != null && !v.byKey.has(key)) key = null;
      st.selected = key;
      highlight();
      showDetails();
      if (key != null && els.has(key)) setCurrent(key, false);
      if (opts.onSelect) opts.onSelect(key == null ? null : v.byKey.get(key), api);
    }
    function highlight() {
      svg.classList.toggle('mltrace-focusing', st.selected != null);
      const on = st.selected != null ? L.paths(v, st.selected) : null;
      for (const [key, el] of els) {
        el.classList.toggle('mltrace-on-path', !!on && on.nodes.has(key));
        el.classList.toggle('mltrace-selected', key === st.selected);
      }
      const outputEl = els.get('output');
      if (outputEl && on) outputEl.classList.add('mltrace-on-path');
      const matchPointer = st.match >= 0 && st.matches[st.match].kind === 'pointer' ? st.matches[st.match].name : null;
      for (const { e, el } of edgeEls) {
        el.classList.toggle('mltrace-on-path', !!on && (on.edges.has(e) || (e.target === 'output' && on.nodes.has(e.source)) || (e.source === 'output' && on.nodes.has(e.target))));
        el.classList.toggle('mltrace-match', matchPointer != null && e.pointers.includes(matchPointer));
      }
      markCritical();
    }

    function setCriticalPath(on) {
      st.critical = on ? L.criticalPath(idx) : null;
      critBtn.setAttribute('aria-pressed', String(!!on));
      critBtn.classList.toggle('mltrace-pressed', !!on);
      if (on) {
        const runs = st.critical.runs, first = idx.byId.get(runs[0]), last = idx.byId.get(runs[runs.length - 1]);
        critNote.textContent = `Critical path: ${runs.length} run${runs.length === 1 ? '' : 's'} from ${first.component} #${first.id} to ${last.component} #${last.id}, ${F.duration(st.critical.seconds)} in all (${when(first.start)} → ${when(last.end)}).`;
      }
      critNote.hidden = !on;
      markCritical();
      return st.critical;
    }
    function markCritical() {
      svg.classList.toggle('mltrace-showing-critical', !!st.critical);
      const keys = new Set(), steps = new Set();
      if (st.critical) {
        let prev = null;
        for (const id of st.critical.runs) {
          const k = v.keyOf.get(id);
          if (k === undefined) { prev = null; continue; }
          keys.add(k);
          if (prev !== null && prev !== k) steps.add(prev + '>' + k);
          prev = k;
        }
        if (prev !== null && upstream) steps.add(prev + '>output');
      }
      for (const [key, el] of els) el.classList.toggle('mltrace-critical', keys.has(key) || (key === 'output' && keys.size > 0 && upstream));
      for (const { e, el } of edgeEls) el.classList.toggle('mltrace-critical', steps.has(e.source + '>' + e.target));
    }

    // -- search -------------------------------------------------------------------------------------
    function find(query) {
      st.matches = L.search(idx, query);
      st.matches.query = query;
      st.match = -1;
      if (!st.matches.length) { found.textContent = String(query).trim() ? 'no match' : ''; highlight(); return st.matches; }
      nextMatch(1);
      return st.matches;
    }
    function nextMatch(step) {
      const n = st.matches.length;
      st.match = (st.match + step + n) % n;
      const m = st.matches[st.match];
      found.textContent = `${st.match + 1} of ${n}${n >= 50 ? '+' : ''}: ${m.label}`;
      let key = null;
      if (m.kind === 'run') key = reveal(m.id);
      else if (m.kind === 'component') {
        const c = idx.components.get(m.name);
        key = st.mode === 'component' && !st.expanded.has(c.name) ? 'c' + c.index : reveal(c.runs[0].id);
      } else {
        key = reveal(idx.pointers.get(m.name)[0].producer); // the run that wrote it
      }
      select(key);
      if (key != null) { centre(key); setCurrent(key, false); }
    }
    // The node showing run `id`, expanding its component or deepening the run view if needed.
    function reveal(id) {
      const r = idx.byId.get(id);
      if (st.mode === 'component' && !st.expanded.has(r.component)) regroup(r.component, true);
      else if (st.mode === 'run' && (r.depth || 0) > st.depth) { st.depth = r.depth; redraw({}); }
      return v.keyOf.get(id);
    }

    // -- details panel --------------------------------------------------------------------------------
    function showDetails() {
      details.textContent = '';
      const n = st.selected != null && v.byKey.get(st.selected);
      if (!n || n.kind === 'pointer') { details.hidden = true; return; }
      details.hidden = false;
      const head = h('div', { class: 'mltrace-details-head' });
      const actions = h('div', { class: 'mltrace-details-actions' });
      if (n.kind === 'run') {
        const r = n.run;
        head.appendChild(h('span', { class: `mltrace-badge mltrace-status-${L.statusKey(r.status)}` }, r.status));
        head.appendChild(h('strong', null, ` ${r.component} #${r.id}`));
        head.appendChild(h('span', { class: 'mltrace-muted' }, ` · ${when(r.start)} · ${F.duration(L.seconds(r))}`));
        actions.appendChild(h('a', { class: 'mltrace-btn mltrace-open-run', href: opts.runUrl(r.id) }, `Open run #${r.id}`));
        if (st.mode === 'component' && st.expanded.has(r.component)) btn(actions, `Collapse ${r.component}`, 'Show its runs as one node again', () => regroup(r.component, false), 'mltrace-collapse');
      } else {
        const c = n.component;
        head.appendChild(h('strong', null, `${c.name} ×${c.runs.length}`));
        head.appendChild(h('span', { class: 'mltrace-muted' }, ` · ${L.statusMix(c.statuses)} · ${when(c.start)} → ${when(c.end)} (${F.duration(c.span)})`));
        btn(actions, `Expand ${c.runs.length} run${c.runs.length === 1 ? '' : 's'}`, 'Show its runs in place', () => regroup(c.name, true), 'mltrace-expand');
        if (c.runs.length === 1) actions.appendChild(h('a', { class: 'mltrace-btn mltrace-open-run', href: opts.runUrl(c.runs[0].id) }, `Open run #${c.runs[0].id}`));
        if (opts.componentUrl) actions.appendChild(h('a', { class: 'mltrace-btn', href: opts.componentUrl(c.name) }, 'History'));
      }
      const up = countAround(n.key);
      head.appendChild(h('span', { class: 'mltrace-muted' }, ` · ${up.up} node${up.up === 1 ? '' : 's'} upstream, ${up.down} downstream highlighted`));
      btn(actions, 'Clear', 'Clear the focus (Esc)', () => select(null));
      details.appendChild(head);
      details.appendChild(actions);
    }
    function countAround(key) { // upstream / downstream in the trace's own sense
      const p = L.paths(v, key);
      return { up: p.producers.size, down: p.consumers.size };
    }

    // -- drawing ----------------------------------------------------------------------------------------
    function redraw(how) {
      errorNote.hidden = true;
      const hadFocus = vp.contains(document.activeElement);
      const prevDepth = st.depth;
      try {
        draw();
      } catch (err) { // dagre can still fail on some huge graph (stack, memory): fall back and say why
        if (st.mode === 'run') st.depth = prevDepth !== Infinity && prevDepth > 1 ? Math.floor(prevDepth / 2) : 6;
        else { st.mode = 'run'; st.depth = autoDepth(idx, opts.nodeBudget); }
        draw();
        errorNote.textContent = `The graph is too large to draw that way (${err.message}). Showing the runs to depth ${st.depth}; the tree lists the full lineage.`;
        errorNote.hidden = false;
      }
      if (how && how.fit) fitView(how.initial);
      if (hadFocus && els.has(st.current)) setCurrent(st.current, true);
      highlight();
      showDetails();
      if (opts.onDraw) opts.onDraw(api);
    }

    function draw() {
      const t0 = performance.now();
      v = L.view(idx, { mode: st.mode, expanded: st.expanded, depth: st.mode === 'run' ? st.depth : Infinity });
      const g = new dagre.graphlib.Graph();
      g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 56, edgesep: 8, marginx: 16, marginy: 16 });
      g.setDefaultEdgeLabel(() => ({}));
      const info = new Map(), loops = new Map();
      let runs = 0, comps = 0;
      for (const n of v.nodes) {
        if (n.kind === 'pointer' && !opts.showOutput) continue;
        const size = D.nodeSize(n);
        info.set(n.key, size);
        g.setNode(n.key, { width: size.w, height: size.h });
        if (n.kind === 'run') runs++; else if (n.kind === 'component') comps++;
      }
      for (const e of v.edges) {
        if (!g.hasNode(e.source) || !g.hasNode(e.target)) continue;
        if (e.source === e.target) { loops.set(e.source, e); continue; }
        // Between a run and a whole component the label would repeat on every run: its title says it.
        const mixed = v.byKey.get(e.source).kind !== v.byKey.get(e.target).kind && e.source !== 'output' && e.target !== 'output';
        const text = e.runs && !mixed ? fit(L.edgeLabel(e), LABEL_MAX_W, e.pointers.length === 1, LABEL_FONT) : '';
        g.setEdge(e.source, e.target, text ? { width: textWidth(text, LABEL_FONT) + 8, height: 16, labelpos: 'c', text, e } : { width: 0, height: 0, e });
      }
      for (const [key, k] of v.hidden) { // run view: "+k more" stubs for producers beyond the depth
        g.setNode('m' + key, { width: 130, height: 34 });
        info.set('m' + key, { more: k });
        if (upstream) g.setEdge('m' + key, key, { width: 0, height: 0 }); else g.setEdge(key, 'm' + key, { width: 0, height: 0 });
      }
      const size = g.nodeCount();
      if (size > FAST_RANKER_ABOVE) g.graph().ranker = 'tight-tree';
      const big = size > (st.expanded.size && st.mode === 'component' ? NO_ORDER_SWEEPS_EXPANDED_ABOVE : NO_ORDER_SWEEPS_ABOVE);
      try {
        dagre.layout(g, big ? { customOrder: simpleOrder } : {});
      } catch (err) {
        if (big || !(err instanceof RangeError)) throw err;
        dagre.layout(g, { customOrder: simpleOrder });
      }
      const t1 = performance.now();
      layout = g;

      const frag = document.createDocumentFragment();
      const edgeLayer = s('g', { class: 'mltrace-edges' }), nodeLayer = s('g', { class: 'mltrace-nodes' });
      frag.appendChild(edgeLayer); frag.appendChild(nodeLayer);
      edgeEls = [];
      for (const ge of g.edges()) {
        const lab = g.edge(ge), e = lab.e;
        const cls = 'mltrace-edge' + (ge.v[0] === 'm' || ge.w[0] === 'm' ? ' mltrace-edge-more' : '') + (e && opts.edgeClass ? ' ' + (opts.edgeClass(e) || '') : '');
        const grp = s('g', { class: cls });
        const width = e && e.runs > 1 ? Math.min(4.5, 1.4 + Math.log10(e.runs) * 1.2) : null;
        const path = s('path', { d: curve(lab.points), 'marker-end': `url(#${mid})` });
        if (width) path.setAttribute('style', `stroke-width:${width.toFixed(2)}px`);
        grp.appendChild(path);
        if (e && e.runs) {
          title(grp, (e.runs > 1 ? `${e.runs} run pairs through ` : '') + (e.pointers.length > 20 ? e.pointers.slice(0, 20).join('\n') + `\n… and ${e.pointers.length - 20} more` : e.pointers.join('\n')));
        }
        if (lab.text) {
          grp.appendChild(s('rect', { class: 'mltrace-edge-label-bg', x: lab.x - lab.width / 2, y: lab.y - 8, width: lab.width, height: 16, rx: 3 }));
          grp.appendChild(s('text', { class: 'mltrace-edge-label', x: lab.x, y: lab.y + 4, 'text-anchor': 'middle' }, lab.text));
        }
        edgeLayer.appendChild(grp);
        if (e) edgeEls.push({ e, el: grp });
      }
      els = new Map();
      const dctx = { upstream, depth: st.depth, expanded: st.expanded, output: trace.output };
      for (const key of g.nodes()) {
        const p = g.node(key), sz = info.get(key);
        const tr = `translate(${p.x - p.width / 2},${p.y - p.height / 2})`;
        let el;
        if (sz.more != null) el = D.moreNode(key, sz.more, p, tr, dctx);
        else {
          const n = v.byKey.get(key);
          el = n.kind === 'run' ? D.runNode(n, sz, p, tr, dctx) : n.kind === 'component' ? D.componentNode(n, sz, p, tr, loops.get(key)) : D.outputNode(sz, p, tr, dctx);
          if (opts.nodeClass) { const extraCls = opts.nodeClass(n); if (extraCls) el.setAttribute('class', el.getAttribute('class') + ' ' + extraCls); }
          if (opts.badges) D.addBadges(el, opts.badges(n) || [], p);
          els.set(key, el);
        }
        nodeLayer.appendChild(el);
      }
      scene.textContent = '';
      scene.appendChild(frag);
      const gg = g.graph();
      graphSize = { w: gg.width || 1, h: gg.height || 1 };
      if (!opts.height) vp.style.height = gg.height + 40 < 320 ? Math.max(180, gg.height + 40) + 'px' : '';
      if (!st.current || !els.has(st.current)) st.current = v.keyOf.get(idx.roots[0].id) || [...els.keys()][0];
      if (els.has(st.current)) els.get(st.current).setAttribute('tabindex', '0');
      if (st.selected != null && !v.byKey.has(st.selected)) st.selected = null;

      api.layoutMs = Math.round(t1 - t0);
      api.drawMs = Math.round(performance.now() - t0);
      api.visibleCount = runs;
      api.componentCount = comps;
      root.dataset.layoutMs = String(api.layoutMs);
      root.dataset.mode = st.mode;
      compBtn.setAttribute('aria-pressed', String(st.mode === 'component'));
      runBtn.setAttribute('aria-pressed', String(st.mode === 'run'));
      depthLab.hidden = allBtn.hidden = st.mode !== 'run' || idx.maxDepth === 0;
      depthInput.value = String(Math.min(st.depth, idx.maxDepth));
      allBtn.disabled = st.depth === Infinity;
      const shownRuns = runs + [...v.nodes].reduce((a, n) => a + (n.kind === 'component' ? n.component.runs.length : 0), 0);
      const noun = `${total} run${total === 1 ? '' : 's'}`;
      count.textContent = st.mode === 'component'
        ? `${noun} in ${idx.components.size} component${idx.components.size === 1 ? '' : 's'}` + (st.expanded.size ? ` (${st.expanded.size} expanded)` : '')
        : shownRuns === total ? noun : `Showing ${shownRuns} of ${noun}`;
    }

    // -- the API ------------------------------------------------------------------------------------
    Object.assign(api, {
      root, svg, toolbar: extra, options: opts, trace,
      setMode, setMaxDepth, getMaxDepth: () => st.depth,
      expand: (name) => regroup(name, true), collapse: (name) => regroup(name, false), expanded: () => [...st.expanded],
      select, selected: () => (st.selected == null ? null : v.byKey.get(st.selected)),
      keyOfRun: (id) => v.keyOf.get(id), keyOfComponent: (name) => { const c = idx.components.get(name); return c && v.byKey.has('c' + c.index) ? 'c' + c.index : undefined; },
      find, setCriticalPath, criticalPath: () => st.critical,
      fit: fitView, zoom: zoomBy, centre, redraw: () => redraw({}),
      view: () => v, layout: () => layout,
      // trace-export.js: the current view as a file (svg, png, dot, mermaid, json)
      exportText: (fmt) => window.MltraceTrace.exportText(api, fmt),
      exportBlob: (fmt) => window.MltraceTrace.exportBlob(api, fmt),
      download: (fmt) => window.MltraceTrace.download(api, fmt),
    });
    Object.defineProperty(api, 'mode', { get: () => st.mode, enumerable: true }); // 'component' or 'run'
    if (opts.toolbar) opts.toolbar(extra, api);
    redraw({ fit: true, initial: true });
    api.readyAt = performance.now();
    return api;
  }

  window.MltraceTrace = Object.assign(window.MltraceTrace || {}, { render, DEFAULTS });
})();
