/* mltrace lineage model: what the trace graph shows, without the DOM. Plain ES2017, no build step.
 * Needs formats.js (global MltraceFormats). Public API: window.MltraceLineage (see the end of the file).
 *
 * The component view, the DOT and Mermaid exports and their labels follow the rules of
 * mltrace_core/graphs.py and mltrace_core/export.py: the page must aggregate any mix of expanded and
 * collapsed components, which the server cannot list in advance, so the rule is applied here too, and
 * tests/web/test_lineage_js.py runs both on the same traces and compares their output. */
(function (root) {
  'use strict';
  const F = root.MltraceFormats;
  const UNKNOWN = 'unknown';
  const STATUS_ORDER = F.STATUSES.concat([UNKNOWN]);
  const statusKey = (s) => (F.STATUSES.includes(s) ? s : UNKNOWN);
  const seconds = (run) => (typeof run.duration === 'number' ? run.duration : (Date.parse(run.end) - Date.parse(run.start)) / 1000);
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

  /* Index a trace (the JSON of Trace.to_dict()) once: runs by id, producer/consumer pairs with their
   * pointers (several pointers between two runs are one pair), components in order of first appearance. */
  function index(trace) {
    const runs = trace.nodes || [], byId = new Map(), components = new Map();
    for (const run of runs) {
      byId.set(run.id, run);
      let c = components.get(run.component);
      if (!c) components.set(run.component, (c = { name: run.component, index: components.size, runs: [] }));
      c.runs.push(run);
    }
    const pairMap = new Map(), producers = new Map(), consumers = new Map(), pointers = new Map();
    for (const e of trace.edges || []) {
      if (e.from === e.to || !byId.has(e.from) || !byId.has(e.to)) continue;
      const k = e.to + ',' + e.from;
      let p = pairMap.get(k);
      if (!p) {
        pairMap.set(k, (p = { producer: e.to, consumer: e.from, vias: [] }));
        if (!producers.has(e.from)) producers.set(e.from, []);
        producers.get(e.from).push(p);
        if (!consumers.has(e.to)) consumers.set(e.to, []);
        consumers.get(e.to).push(p);
      }
      if (!p.vias.includes(e.via)) p.vias.push(e.via);
      if (!pointers.has(e.via)) pointers.set(e.via, []);
      pointers.get(e.via).push(p);
    }
    for (const c of components.values()) summarise(c);
    const roots = runs.filter((r) => r.depth === 0);
    if (!roots.length && runs.length) roots.push(runs[0]); // malformed input: still draw something
    const maxDepth = runs.reduce((a, r) => Math.max(a, r.depth || 0), 0);
    return { trace, runs, byId, components, pairs: [...pairMap.values()], producers, consumers, pointers, roots, maxDepth };
  }

  // A component's status mix and time span (mltrace_core.graphs.ComponentNode).
  function summarise(c) {
    const counts = {};
    let start = null, end = null, t0 = Infinity, t1 = -Infinity, depth = Infinity;
    for (const r of c.runs) {
      const s = statusKey(r.status);
      counts[s] = (counts[s] || 0) + 1;
      const a = Date.parse(r.start), b = Date.parse(r.end);
      if (a < t0) { t0 = a; start = r.start; }
      if (b > t1) { t1 = b; end = r.end; }
      depth = Math.min(depth, r.depth || 0);
    }
    c.statuses = {};
    for (const s of STATUS_ORDER) if (counts[s]) c.statuses[s] = counts[s];
    Object.assign(c, { start, end, span: (t1 - t0) / 1000, depth });
  }

  /* What one view of the trace shows. mode 'component': one node per component, except those in
   * `expanded`, shown as their runs; mode 'run': every run with depth <= `depth`. Nodes: the pointer
   * first, then components/runs in trace order. Edges producer -> consumer, one per pair of nodes, with
   * the number of run pairs and the pointers; a component reading its own runs' outputs is an edge from
   * itself to itself. `hidden`: run node key -> its runs beyond the depth (upstream: producers;
   * downstream: consumers). */
  function view(idx, options) {
    const o = Object.assign({ mode: 'run', expanded: new Set(), depth: Infinity }, options);
    const nodes = [], byKey = new Map(), keyOf = new Map(), hidden = new Map();
    const add = (node) => { nodes.push(node); byKey.set(node.key, node); return node; };
    if (idx.runs.length) add({ key: 'output', kind: 'pointer', name: idx.trace.output });
    if (o.mode === 'component') {
      for (const c of idx.components.values()) {
        if (o.expanded.has(c.name)) for (const r of c.runs) keyOf.set(r.id, add({ key: 'r' + r.id, kind: 'run', run: r, group: c }).key);
        else { const key = add({ key: 'c' + c.index, kind: 'component', component: c }).key; for (const r of c.runs) keyOf.set(r.id, key); }
      }
    } else {
      for (const r of idx.runs) if (!((r.depth || 0) > o.depth)) keyOf.set(r.id, add({ key: 'r' + r.id, kind: 'run', run: r, group: idx.components.get(r.component) }).key);
    }
    const agg = new Map(), edges = [], upstream = (idx.trace.direction || 'upstream') === 'upstream';
    for (const p of idx.pairs) {
      const ck = keyOf.get(p.consumer), pk = keyOf.get(p.producer);
      if (ck === undefined || pk === undefined) { // beyond the depth: counted on the run it leads away from
        const near = upstream ? (pk === undefined ? ck : undefined) : (ck === undefined ? pk : undefined);
        if (near !== undefined) hidden.set(near, (hidden.get(near) || 0) + 1);
        continue;
      }
      const k = pk + '>' + ck;
      let e = agg.get(k);
      if (!e) { agg.set(k, (e = { source: pk, target: ck, runs: 0, pointers: [], set: new Set() })); edges.push(e); }
      e.runs++;
      for (const v of p.vias) if (!e.set.has(v)) { e.set.add(v); e.pointers.push(v); }
    }
    const name = (key) => { const n = byKey.get(key); return n.kind === 'run' ? n.run.component : n.component.name; };
    const rid = (key) => { const n = byKey.get(key); return n.kind === 'run' ? n.run.id : -1; };
    for (const e of edges) {
      if (byKey.get(e.source).kind !== 'run' || byKey.get(e.target).kind !== 'run') e.pointers.sort(cmp);
      delete e.set;
    }
    if (o.mode === 'component') {
      edges.sort((a, b) => cmp(name(a.target), name(b.target)) || cmp(name(a.source), name(b.source)) ||
        rid(a.target) - rid(b.target) || rid(a.source) - rid(b.source));
    }
    const seen = new Set();
    for (const r of idx.roots) {
      const k = keyOf.get(r.id);
      if (k === undefined || seen.has(k)) continue;
      seen.add(k);
      edges.push(upstream ? { source: k, target: 'output', runs: 0, pointers: [] } : { source: 'output', target: k, runs: 0, pointers: [] });
    }
    return { nodes, edges, byKey, keyOf, hidden, mode: o.mode };
  }

  // -- labels, shared by the graph and the exports (mltrace_core.export) ------------------------------
  function pointerSummary(pointers, runs) {
    const text = pointers.length <= 2 ? pointers.join(', ') : pointers.length + ' pointers';
    return text + (runs > 1 ? ' ×' + runs : '');
  }
  function statusMix(statuses) {
    return STATUS_ORDER.filter((s) => statuses[s]).map((s) => statuses[s] + ' ' + s).join(' · ');
  }
  function worst(statuses) {
    for (const s of ['failed', 'aborted', 'running', UNKNOWN, 'success']) if (statuses[s]) return s;
    return UNKNOWN;
  }
  function runLines(r) {
    return [r.component + ' #' + r.id, [r.status, F.duration(seconds(r))].filter(Boolean).join(' · ')];
  }
  function componentLines(c) {
    return [c.name + ' ×' + c.runs.length, statusMix(c.statuses), 'span ' + F.duration(c.span)];
  }

  // The component graph as mltrace_core.graphs.ComponentGraph.to_dict() has it.
  function byComponent(trace) {
    const idx = index(trace), v = view(idx, { mode: 'component' });
    const nameOf = (key) => v.byKey.get(key).component.name;
    return {
      output: trace.output, direction: trace.direction || 'upstream', by: 'component',
      nodes: [...idx.components.values()].map((c) => ({
        component: c.name, run_count: c.runs.length, runs: c.runs.map((r) => r.id), statuses: c.statuses,
        start: c.start, end: c.end, depth: c.depth,
      })),
      edges: v.edges.filter((e) => e.runs).map((e) => ({ from: nameOf(e.target), to: nameOf(e.source), runs: e.runs, pointers: e.pointers })),
      truncated: !!trace.truncated,
    };
  }

  // -- exports ------------------------------------------------------------------------------------
  const COLOURS = { success: ['#1a7f37', '#e9f7ee'], failed: ['#cf222e', '#fdecee'], aborted: ['#cf222e', '#f6f0f0'], running: ['#b26b00', '#fff5e0'], unknown: ['#6e7781', '#f1f3f5'] };
  function exportNodes(v) {
    return v.nodes.map((n) => {
      if (n.kind === 'pointer') return { id: n.key, lines: [n.name], kind: n.kind, status: '' };
      if (n.kind === 'run') return { id: n.key, lines: runLines(n.run), kind: n.kind, status: statusKey(n.run.status) };
      return { id: n.key, lines: componentLines(n.component), kind: n.kind, status: worst(n.component.statuses) };
    });
  }
  const edgeLabel = (e) => (e.runs ? pointerSummary(e.pointers, e.runs) : '');
  function tooltip(pointers) {
    const more = pointers.length - 20;
    return pointers.slice(0, 20).join(', ') + (more > 0 ? ` and ${more} more` : '');
  }
  const dotEscape = (t) => String(t).replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const dotQuote = (t) => '"' + dotEscape(t) + '"';
  function toDot(trace, v) {
    const title = ((trace.direction || 'upstream') === 'upstream' ? 'Trace of ' : 'Downstream of ') + trace.output;
    const out = [
      'digraph lineage {',
      `  graph [rankdir=LR, labelloc=t, label=${dotQuote(title)}];`,
      '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
      '  edge [fontname="Helvetica", fontsize=9, color="#8994a3"];',
    ];
    for (const n of exportNodes(v)) {
      const label = '"' + n.lines.map(dotEscape).join('\\n') + '"';
      let attrs;
      if (n.kind === 'pointer') attrs = `label=${label}, shape=note, style="filled", fillcolor="#ffffff"`;
      else {
        const [stroke, fill] = COLOURS[n.status];
        attrs = `label=${label}, color="${stroke}", fillcolor="${fill}"` + (n.kind === 'component' ? ', peripheries=2' : '');
      }
      out.push(`  ${dotQuote(n.id)} [${attrs}];`);
    }
    for (const e of v.edges) {
      const label = edgeLabel(e);
      const attrs = label ? ` [label=${dotQuote(label)}, tooltip=${dotQuote(tooltip(e.pointers))}]` : '';
      out.push(`  ${dotQuote(e.source)} -> ${dotQuote(e.target)}${attrs};`);
    }
    out.push('}');
    return out.join('\n') + '\n';
  }
  const MERMAID = { '#': '#35;', '"': '#quot;', '<': '#lt;', '>': '#gt;', '&': '#amp;', '`': '#96;', '|': '#124;' };
  const mermaidText = (t) => String(t).replace(/[#"<>&`|]/g, (ch) => MERMAID[ch]);
  function toMermaid(trace, v) {
    const out = ['flowchart LR'];
    for (const n of exportNodes(v)) {
      const label = '"' + n.lines.map(mermaidText).join('<br/>') + '"';
      if (n.kind === 'pointer') out.push(`  ${n.id}[/${label}/]`);
      else if (n.kind === 'component') out.push(`  ${n.id}[[${label}]]:::${n.status}`);
      else out.push(`  ${n.id}[${label}]:::${n.status}`);
    }
    for (const e of v.edges) {
      const label = edgeLabel(e);
      out.push(`  ${e.source} ${label ? `-->|"${mermaidText(label)}"|` : '-->'} ${e.target}`);
    }
    for (const s of STATUS_ORDER) out.push(`  classDef ${s} fill:${COLOURS[s][1]},stroke:${COLOURS[s][0]},color:#1f2933`);
    return out.join('\n') + '\n';
  }

  // -- paths ----------------------------------------------------------------------------------------
  /* The critical path: the chain of runs that determined when the trace's end was produced. From the
   * run that wrote the output (downstream: the run that ended last), step to the producer that ended
   * last (its input arrived last), until a run with no producer in the trace. Runs in time order. */
  function criticalPath(idx) {
    if (!idx.runs.length) return { runs: [], seconds: 0 };
    const upstream = (idx.trace.direction || 'upstream') === 'upstream';
    let cur = upstream ? idx.roots[0] : idx.runs.reduce((a, r) => (Date.parse(r.end) > Date.parse(a.end) || (Date.parse(r.end) === Date.parse(a.end) && r.id > a.id) ? r : a));
    const chain = [cur], seen = new Set([cur.id]);
    for (;;) {
      let best = null;
      for (const p of idx.producers.get(cur.id) || []) {
        const r = idx.byId.get(p.producer);
        if (seen.has(r.id)) continue;
        if (!best || Date.parse(r.end) > Date.parse(best.end) || (Date.parse(r.end) === Date.parse(best.end) && r.id > best.id)) best = r;
      }
      if (!best) break;
      chain.push(best); seen.add(best.id); cur = best;
    }
    chain.reverse();
    return { runs: chain.map((r) => r.id), seconds: (Date.parse(chain[chain.length - 1].end) - Date.parse(chain[0].start)) / 1000 };
  }

  // Every node key reachable from `start` along a view's edges, upstream and downstream (not through
  // the pointer node), with the edges on those paths.
  function paths(v, start) {
    const up = new Map(), down = new Map();
    for (const e of v.edges) {
      if (e.source === e.target || e.source === 'output' || e.target === 'output') continue;
      (down.get(e.source) || down.set(e.source, []).get(e.source)).push(e);
      (up.get(e.target) || up.set(e.target, []).get(e.target)).push(e);
    }
    const nodes = new Set([start]), edges = new Set(), sides = [];
    for (const [adj, end] of [[up, 'source'], [down, 'target']]) {
      const stack = [start], seen = new Set([start]);
      while (stack.length) {
        for (const e of adj.get(stack.pop()) || []) {
          edges.add(e);
          if (!seen.has(e[end])) { seen.add(e[end]); nodes.add(e[end]); stack.push(e[end]); }
        }
      }
      seen.delete(start);
      sides.push(seen);
    }
    return { nodes, edges, producers: sides[0], consumers: sides[1] };
  }

  /* Search: runs by id ("#12" or "12"), components and pointers by a case-insensitive part of their
   * name. Results: {kind, id | name, label}, runs first, at most `limit`. */
  function search(idx, query, limit) {
    const q = String(query || '').trim().toLowerCase();
    limit = limit || 50;
    if (!q) return [];
    const out = [], id = /^#?\d+$/.test(q) ? Number(q.replace('#', '')) : null;
    if (id !== null && idx.byId.has(id)) out.push({ kind: 'run', id, label: runLines(idx.byId.get(id))[0] });
    for (const c of idx.components.values()) {
      if (out.length >= limit) return out;
      if (c.name.toLowerCase().includes(q)) out.push({ kind: 'component', name: c.name, label: c.name + ' ×' + c.runs.length });
    }
    for (const name of idx.pointers.keys()) {
      if (out.length >= limit) return out;
      if (name.toLowerCase().includes(q)) out.push({ kind: 'pointer', name, label: name });
    }
    return out;
  }

  root.MltraceLineage = {
    UNKNOWN, STATUS_ORDER, statusKey, seconds, index, view, byComponent, runLines, componentLines,
    pointerSummary, statusMix, worst, edgeLabel, toDot, toMermaid, criticalPath, paths, search,
  };
})(typeof window !== 'undefined' ? window : globalThis);
